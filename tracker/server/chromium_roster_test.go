package server_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// seedRoster adds to seedTeam's people a starter who begins next week and
// a leaver whose key is still out.
func seedRoster(t *testing.T, e *env) {
	e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "nia@example.com", Name: "Nia Starter", Team: "Platform", ManagerEmail: "mid@example.com", StartDate: "2026-03-11"}, 201, nil)
	var lee tracker.Person
	e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "lee@example.com", Name: "Lee Leaver", Team: "Platform", ManagerEmail: "boss@example.com", StartDate: "2026-01-05"}, 201, &lee)
	tok, err := serverAdminToken(e, lee.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["lee"] = tok
	// Lee's wizard names its catalogue, as wizards do: the columns take
	// these names.
	r := fullReport("lee-everyday", 31000009, tracker.RoleEveryday)
	r.Services = []tracker.Service{{ID: "google", Name: "Google"}, {ID: "github", Name: "GitHub"}}
	e.do("lee", "POST", "/v1/reports", r, 200, nil)
	e.do("it", "POST", "/v1/people/"+lee.ID+"/leave", tracker.Leave{Reason: "last day 2026-02-27"}, 200, nil)
}

// TestRosterDashboardInChromium: a manager's dashboard in the browser
// names services, counts days to a start, marks indirect reports, says
// what is left per person, lists a leaver's key to collect and links to
// the manager's own page and data; a page they may not see is an HTML
// error page with a next step, not JSON.
func TestRosterDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	seedTeam(t, e)
	seedRoster(t, e)
	hs := signedIn(t, e, "boss")

	dom := string(runChromium(t, bin, "--dump-dom", hs.URL+"/dashboard"))
	for _, want := range []string{
		`<th class="grp" colspan="2" title="google">Google</th>`, `<th class="grp" colspan="2" title="github">GitHub</th>`, "<th rowspan=\"2\">Due</th>",
		"starts in 9 days", // Nia, 2026-03-11, seen on 2026-03-02
		">via mid<",        // ann reports to boss through mid
		"Left: everyday key: enrol it; backup key: enrol it",     // mid
		"Left: everyday key: turn off OTP; backup key: enrol it", // bob (GitHub self-attested counts)
		`id="collect"`, "31000009", "Lee Leaver", `id="leavers"`, "<td>2028-03-01</td>", `<span class="pill retired">kept</span>`,
		`id="my-page" href="/dashboard/people/` + e.id("boss") + `"`, `action="/dashboard/people/` + e.id("boss") + `/export"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("dashboard DOM lacks %q", want)
		}
	}
	for _, bad := range []string{">google<", ">github<", "day -"} {
		if strings.Contains(dom, bad) {
			t.Errorf("dashboard DOM has %q", bad)
		}
	}
	// Bob (a direct report) is not marked indirect; the leaver has no row.
	if m := regexp.MustCompile(`data-email="bob@example.com">\s*<td class="person"><a[^>]*>bob</a>\s*<span class="pill ind"`).FindString(dom); m != "" {
		t.Errorf("bob marked indirect: %s", m)
	}
	if strings.Contains(dom, `data-email="lee@example.com"`) {
		t.Error("the leaver has a row")
	}
	screenshot(t, bin, hs.URL+"/dashboard", "dashboard-roster.png", 1400, 900)

	// eve's team is not boss's to see: an HTML page with a way back.
	errPage := hs.URL + "/dashboard?manager=" + e.id("eve")
	dom = string(runChromium(t, bin, "--dump-dom", errPage))
	for _, want := range []string{`id="error-headline">You cannot see or do this<`, `id="error-next">`, `href="/dashboard">Back to the dashboard<`, "HTTP 403: not allowed"} {
		if !strings.Contains(dom, want) {
			t.Errorf("error page lacks %q: %s", want, dom)
		}
	}
	if strings.Contains(dom, `{"error"`) || strings.Contains(dom, "zed@example.com") {
		t.Errorf("error page shows JSON or data: %s", dom)
	}
	plainShot(t, bin, errPage, "error.png")
}

// TestRosterPersonPageInChromium: IT's view of a person has the due date,
// what is left, and the edit and leaver forms; a leaver's page says until
// when the records are kept; a person's own page offers their data.
func TestRosterPersonPageInChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	seedTeam(t, e)
	seedRoster(t, e)
	it := signedIn(t, e, "it")
	page := it.URL + "/dashboard/people/" + e.id("bob")
	dom := string(runChromium(t, bin, "--dump-dom", page))
	for _, want := range []string{`id="due">2026-03-31`, `id="todo">everyday key: turn off OTP; backup key: enrol it<`,
		`id="form-edit"`, `id="edit-manager" name="manager_email" value="boss@example.com"`, `id="form-leave"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("IT's page of bob lacks %q", want)
		}
	}
	screenshot(t, bin, page, "person-roster.png", 1280, 1900)

	var lee tracker.Person
	for _, p := range e.list() {
		if p.Email == "lee@example.com" {
			lee = p
		}
	}
	dom = string(runChromium(t, bin, "--dump-dom", it.URL+"/dashboard/people/"+lee.ID))
	if !strings.Contains(dom, "records kept until 2028-03-01") || strings.Contains(dom, `id="form-leave"`) {
		t.Errorf("leaver's page: %s", dom)
	}

	own := signedIn(t, e, "ann")
	dom = string(runChromium(t, bin, "--dump-dom", own.URL+"/dashboard/people/"+e.id("ann")))
	if !strings.Contains(dom, "Download my data") || strings.Contains(dom, `id="form-edit"`) {
		t.Errorf("ann's own page: %s", dom)
	}
}

// list returns everyone, as IT sees them.
func (e *env) list() []tracker.Person {
	var ps []tracker.Person
	e.do("it", "GET", "/v1/people", nil, 200, &ps)
	return ps
}

// plainShot screenshots a page that is mostly empty by design (an error
// page), which screenshot's blank-page check would refuse: it checks only
// that Chromium drew a PNG of the window's size.
func plainShot(t *testing.T, bin, url, name string) {
	t.Helper()
	dir := os.Getenv("KEYWIZARD_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, name)
	os.Remove(shot)
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1000,600", url)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() != 1000 {
		t.Fatalf("screenshot: %v", err)
	}
	if colours, _ := pixelStats(img); colours < 16 {
		t.Errorf("error page screenshot has %d colours: nothing drawn", colours)
	}
	t.Logf("screenshot: %s", shot)
}
