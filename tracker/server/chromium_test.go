package server_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// chromium finds Debian's chromium. Like PostgreSQL, a missing browser fails
// the test with instructions rather than skipping it silently, unless
// KEYWIZARD_TEST_CHROMIUM=off.
func chromium(t *testing.T) string {
	switch v := os.Getenv("KEYWIZARD_TEST_CHROMIUM"); v {
	case "off":
		t.Skip("KEYWIZARD_TEST_CHROMIUM=off")
	case "":
	default:
		return v
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: run `make test` or scripts/chromium.sh, set KEYWIZARD_TEST_CHROMIUM to its path, or to \"off\" to skip")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// seedTeam gives boss a team in every state the dashboard shows.
func seedTeam(t *testing.T, e *env) {
	add := func(name, email, manager, startDate string) string {
		var p tracker.Person
		// Added to the roster with the others, two months before the
		// test's day (newEnv), so the default due date follows the start.
		e.clock.Add(-60 * 24 * time.Hour)
		e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: email, Name: name, Team: "Platform", ManagerEmail: manager, StartDate: startDate}, 201, &p)
		e.clock.Add(60 * 24 * time.Hour)
		tok, err := serverAdminToken(e, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[email] = tok
		return email
	}
	rep := func(who string, serial uint32, role tracker.KeyRole, genuine bool, items map[string]tracker.Evidence) {
		r := tracker.Report{IdempotencyKey: fmt.Sprintf("seed-%d", serial), Serial: serial, Model: "YubiKey 5C Nano", Role: role, AppVersion: "1.4.0"}
		if role == tracker.RoleBackup {
			r.Model = "YubiKey 5C NFC"
		}
		for _, s := range []string{"google", "github", "otp"} {
			if ev, ok := items[s]; ok {
				r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: ev, At: start})
			}
		}
		if genuine {
			d := e.ca.Device(t, serial, attesttest.Options{FormFactor: 0x04})
			r.Attestation = &tracker.Attestation{Certificate: d.Attestation, Slot: d.Slot}
		}
		e.do(who, "POST", "/v1/reports", r, 200, nil)
	}
	all := map[string]tracker.Evidence{"google": tracker.EvidenceOnKey, "github": tracker.EvidenceBySystem, "otp": tracker.EvidenceOnKey}
	half := map[string]tracker.Evidence{"google": tracker.EvidenceOnKey, "github": tracker.EvidenceSelf}
	grace := add("Grace Hopper", "grace@example.com", "boss@example.com", "2026-02-16")
	rep(grace, 31000001, tracker.RoleEveryday, true, all)
	rep(grace, 31000002, tracker.RoleBackup, true, all)
	linus := add("Linus Okafor", "linus@example.com", "boss@example.com", "2026-01-12")
	rep(linus, 31000003, tracker.RoleEveryday, true, all)
	rep(linus, 31000004, tracker.RoleBackup, false, half)
	rep("ann", 31000005, tracker.RoleEveryday, true, all)
	rep("ann", 31000006, tracker.RoleBackup, true, all)
	e.do("it", "POST", "/v1/people/"+e.id("ann")+"/keys/31000006/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "left on a train"}, 204, nil)
	rep("bob", 31000007, tracker.RoleEveryday, false, half)
}

// signedIn serves the tracker with every request signed in as who: the
// browser cannot send a bearer header from the command line, so this
// test-only wrapper adds it.
func signedIn(t *testing.T, e *env, who string) *httptest.Server {
	tok := e.tokens[who]
	h := e.srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	seedTeam(t, e)
	hs := signedIn(t, e, "boss")

	dom := string(runChromium(t, bin, "--dump-dom", hs.URL+"/dashboard"))
	for _, want := range []string{"Team of boss", "Grace Hopper", "Linus Okafor", `id="matrix"`, `id="lost"`, "31000006", "overdue"} {
		if !strings.Contains(dom, want) {
			t.Errorf("dashboard DOM lacks %q", want)
		}
	}
	// Overdue first: mid (started 2025-06) and Linus (2026-01-12) and ann
	// (2026-01-05) before bob, and Grace (complete) last.
	rows := regexp.MustCompile(`<tr class="(\w+)" data-email="([^"]+)"`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1]+":"+r[2])
	}
	want := "overdue:mid@example.com,overdue:ann@example.com,overdue:linus@example.com,progress:bob@example.com,complete:grace@example.com"
	if strings.Join(got, ",") != want {
		t.Errorf("rows in the browser:\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	// Services x both keys + OTP + genuine: 2*2+2+2 cells plus name, start,
	// status in each row.
	if n := strings.Count(dom, `<span class="m `) - 5; n != len(rows)*8 { // 5 legend marks
		t.Errorf("%d matrix marks for %d rows, want %d", n, len(rows), len(rows)*8)
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(dom) {
		t.Error("dashboard loads an external asset")
	}
	for _, id := range []string{"n-people", "n-complete", "n-overdue", "n-lost"} {
		if !strings.Contains(dom, `id="`+id+`"`) {
			t.Errorf("summary card %s missing", id)
		}
	}

	screenshot(t, bin, hs.URL+"/dashboard", "dashboard.png", 1280, 720)
}

// screenshot takes a PNG of url in Chromium and checks it. It is written to
// $KEYWIZARD_TEST_SCREENSHOTS (a directory, to look at) or else to the
// test's temporary directory, never into the source tree.
func screenshot(t *testing.T, bin, url, name string, w, h int) {
	t.Helper()
	dir := os.Getenv("KEYWIZARD_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, name)
	os.Remove(shot)
	runChromium(t, bin, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", w, h), url)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %v", b)
	}
	// Not blank, nor a near-empty error page: a page with its tables has
	// thousands of colours (anti-aliased text, status marks) over much of
	// the window; the committed dashboard.png has about 2,600 and 64 %.
	if colours, covered := pixelStats(img); colours < 256 || covered < 0.2 {
		t.Errorf("screenshot %s looks blank: %d colours, %.0f %% of pixels not background", name, colours, 100*covered)
	}
	t.Logf("screenshot: %s", shot)
	if !*updateScreenshot {
		return
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPersonPageInChromium loads IT's view of a person with a lost key in
// the browser: details, keys, enrolment, the recovery forms and the audit
// log, with no external assets.
func TestPersonPageInChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	seedTeam(t, e)
	hs := signedIn(t, e, "it")
	page := hs.URL + "/dashboard/people/" + e.id("ann")

	dom := string(runChromium(t, bin, "--dump-dom", page))
	for _, want := range []string{"ann@example.com", `id="keys"`, "31000005", "31000006", `class="pill lost"`, `id="items"`,
		`id="form-invite"`, `id="form-revoke"`, `id="form-export"`, `id="form-erase"`, `id="audit"`, "left on a train", `name="csrf"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("person page DOM lacks %q", want)
		}
	}
	if regexp.MustCompile(`(src|href|action)="(https?:)?//`).MatchString(dom) {
		t.Error("person page loads an external asset or posts off-site")
	}
	screenshot(t, bin, page, "person.png", 1280, 1700)
}

// updateScreenshot asks the Chromium tests to replace the committed
// screenshots in testdata/; otherwise the screenshot stays in a temporary
// directory, and a test run leaves the work tree as it was.
var updateScreenshot = flag.Bool("update-screenshot", false, "write the Chromium screenshots to testdata/")

// pixelStats returns how many distinct colours img has and the share of
// its pixels that differ from the most common one (the background).
func pixelStats(img image.Image) (colours int, covered float64) {
	counts := map[color.RGBA64]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBA64Model.Convert(img.At(x, y)).(color.RGBA64)]++
		}
	}
	bg := 0
	for _, n := range counts {
		bg = max(bg, n)
	}
	total := b.Dx() * b.Dy()
	if total == 0 {
		return 0, 0
	}
	return len(counts), float64(total-bg) / float64(total)
}

func TestPixelStats(t *testing.T) {
	blank := image.NewRGBA(image.Rect(0, 0, 100, 100))
	if c, cov := pixelStats(blank); c != 1 || cov != 0 {
		t.Errorf("blank image: %d colours, %v covered", c, cov)
	}
	f, err := os.Open(filepath.Join("testdata", "dashboard.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c, cov := pixelStats(img); c < 256 || cov < 0.2 {
		t.Errorf("committed dashboard.png: %d colours, %v covered; the blank check would refuse it", c, cov)
	}
}
