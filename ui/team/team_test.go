package team

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/ui"
)

var pngDir = flag.String("png", "", "also write each golden's rendering as PNG into this directory (for looking at them)")

// assertRenders compares w with its markup golden in testdata/ and, with
// -png, saves a picture of it. Regenerate after an intended change with
// cp testdata/failed/* testdata/ (make golden).
func assertRenders(t *testing.T, name string, w fyne.Window) {
	t.Helper()
	if *pngDir != "" {
		f, err := os.Create(filepath.Join(*pngDir, strings.TrimSuffix(name, ".xml")+".png"))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, w.Canvas().Capture())
		f.Close()
	}
	test.AssertRendersToMarkup(t, name, w.Canvas())
}

func TestMain(m *testing.M) {
	// Times are shown in local time; goldens are drawn in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// now is the tracker's clock in these tests: a Monday morning.
var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// testServices are the columns of the tests' views: the frozen test
// catalogue's services (steps/catalogue/testdata/frozen.json) in the
// order the tracker used to list them.
var testServices = []string{"google", "macos", "aws", "1password", "github"}

var maria = tracker.Person{ID: "p_maria", Email: "maria@example.com", Name: "Maria Lopez", Team: "Eng", StartDate: "2024-01-08"}

// fiveTeam builds Maria's team through tracker.BuildTeamView, as the
// server does, from records:
//   - Ann Lee, started 56 days ago, one key half done: overdue;
//   - Bob Chen, both keys with everything: complete;
//   - Cara Diaz, started a week ago, everyday key confirmed by services;
//   - Dan Evans, starts next week, no keys;
//   - Eve Fox, backup key lost, everyday key self-attested.
func fiveTeam() tracker.TeamView {
	people := []tracker.Person{
		{ID: "p_bob", Email: "bob@example.com", Name: "Bob Chen", Team: "Eng", ManagerID: maria.ID, StartDate: "2026-02-16"},
		{ID: "p_ann", Email: "ann@example.com", Name: "Ann Lee", Team: "Eng", ManagerID: maria.ID, StartDate: "2026-01-05"},
		{ID: "p_cara", Email: "cara@example.com", Name: "Cara Diaz", Team: "Design", ManagerID: maria.ID, StartDate: "2026-02-23"},
		{ID: "p_dan", Email: "dan@example.com", Name: "Dan Evans", ManagerID: maria.ID, StartDate: "2026-03-09"},
		{ID: "p_eve", Email: "eve@example.com", Name: "Eve Fox", Team: "Eng", ManagerID: maria.ID, StartDate: "2026-02-09"},
	}
	upd := now.Add(-48 * time.Hour)
	keys := []tracker.Key{
		{Serial: 20000001, PersonID: "p_ann", Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, Status: tracker.KeyActive, Firmware: "5.7.1", UpdatedAt: upd},
		{Serial: 20000002, PersonID: "p_bob", Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, Status: tracker.KeyActive, Firmware: "5.7.1", Genuine: true, UpdatedAt: upd},
		{Serial: 20000003, PersonID: "p_bob", Model: "YubiKey 5C NFC", Role: tracker.RoleBackup, Status: tracker.KeyActive, Firmware: "5.7.1", Genuine: true, UpdatedAt: upd},
		{Serial: 20000004, PersonID: "p_cara", Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, Status: tracker.KeyActive, Firmware: "5.4.3", Genuine: true, UpdatedAt: upd},
		{Serial: 20000005, PersonID: "p_eve", Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, Status: tracker.KeyActive, UpdatedAt: upd},
		{Serial: 20000006, PersonID: "p_eve", Model: "YubiKey 5Ci", Role: tracker.RoleBackup, Status: tracker.KeyLost, UpdatedAt: time.Date(2026, 2, 27, 15, 0, 0, 0, time.UTC)},
	}
	var items []tracker.Item
	add := func(person string, serial uint32, e tracker.Evidence, services ...string) {
		for _, s := range services {
			items = append(items, tracker.Item{PersonID: person, Serial: serial, Service: s, Evidence: e, At: upd})
		}
	}
	add("p_ann", 20000001, tracker.EvidenceOnKey, "google")
	add("p_ann", 20000001, tracker.EvidenceSelf, "github")
	all := append(append([]string{}, testServices...), tracker.ServiceOTP)
	add("p_bob", 20000002, tracker.EvidenceOnKey, all...)
	add("p_bob", 20000003, tracker.EvidenceOnKey, all...)
	add("p_cara", 20000004, tracker.EvidenceBySystem, "google", "aws", tracker.ServiceOTP)
	add("p_eve", 20000005, tracker.EvidenceSelf, "1password")
	add("p_eve", 20000006, tracker.EvidenceOnKey, "google") // on the lost key: not shown
	return tracker.BuildTeamView(maria, people, keys, items, testServices, now)
}

// fake is a Source returning what it is told, counting calls; with gate
// set, each call waits for a value on it.
type fake struct {
	mu    sync.Mutex
	view  tracker.TeamView
	err   error
	calls int
	gate  chan struct{}
}

func (f *fake) set(v tracker.TeamView, err error) { f.mu.Lock(); f.view, f.err = v, err; f.mu.Unlock() }

func (f *fake) Team(ctx context.Context) (tracker.TeamView, error) {
	f.mu.Lock()
	f.calls++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return tracker.TeamView{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view, f.err
}

func (f *fake) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// open shows a View of src in a 1024x768 test window (ui.DefaultSize) in
// keywizard's light theme and starts it.
func open(t *testing.T, src Source) (*View, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.NewFixedTheme(theme.VariantLight))
	w := test.NewTempWindow(t, nil)
	v := New(w, src, Options{Now: func() time.Time { return now.Add(5 * time.Minute) }})
	w.SetContent(v.Content)
	w.Resize(ui.DefaultSize)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); v.Wait() })
	v.Start(ctx)
	v.Wait()
	return v, w
}

// rendered is what the table shows in one cell, read back from a cell
// template filled by the table's own update function.
type rendered struct {
	name, sub        string // a person, or their status
	importance       widget.Importance
	everyday, backup fyne.Resource
	tinted           bool
}

func cellAt(t *testing.T, v *View, row, col int) rendered {
	t.Helper()
	o := v.newCell()
	v.updateCell(widget.TableCellID{Row: row, Col: col}, o)
	c := v.cells[o.(*fyne.Container)]
	r := rendered{tinted: c.bg.FillColor != nil && fmt.Sprint(c.bg.FillColor) != fmt.Sprint(colorTransparent())}
	r.name, r.sub = c.name.Text, c.sub.Text
	r.importance = c.name.Importance
	r.everyday, r.backup = c.everyday.Resource, c.backup.Resource
	// Exactly one part of a cell has content.
	parts := 0
	for _, has := range []bool{r.name != "" || r.sub != "", r.everyday != nil || r.backup != nil} {
		if has {
			parts++
		}
	}
	if parts != 1 {
		t.Fatalf("cell %d,%d shows %d parts: %+v", row, col, parts, r)
	}
	return r
}

func colorTransparent() any { return rowColour(tracker.Row{}) }

func resName(r fyne.Resource) string {
	if r == nil {
		return "<nil>"
	}
	return r.Name()
}

func TestFivePersonTeam(t *testing.T) {
	src := &fake{view: fiveTeam()}
	v, w := open(t, src)
	assertRenders(t, "team_five.xml", w)

	if got := src.count(); got != 1 {
		t.Errorf("Start fetched %d times, want 1", got)
	}
	if v.Title.Text != "Team of Maria Lopez" {
		t.Errorf("title %q", v.Title.Text)
	}
	if want := "5 people · 1 complete · 1 overdue · 1 lost key"; v.Summary.Text != want {
		t.Errorf("summary %q, want %q", v.Summary.Text, want)
	}
	if want := "Updated 2 Mar 2026 09:30"; v.Updated.Text != want {
		t.Errorf("updated %q, want %q", v.Updated.Text, want)
	}
	if !v.Table.Visible() || v.Message.Visible() || !v.bottom.Visible() {
		t.Error("table, legend or lost keys hidden, or message shown, for a team with people")
	}
	if v.Refresh.Disabled() {
		t.Error("Refresh disabled after the load finished")
	}
	rows, cols := v.Table.Length()
	if rows != 5 || cols != 2+len(testServices)+2 {
		t.Fatalf("table is %dx%d, want 5x%d", rows, cols, 4+len(testServices))
	}

	// Order: overdue first, then in progress by start date, complete last.
	var names []string
	for r := range rows {
		names = append(names, cellAt(t, v, r, 0).name)
	}
	if want := []string{"Ann Lee", "Eve Fox", "Cara Diaz", "Dan Evans", "Bob Chen"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("rows %q, want %q", names, want)
	}

	ann := cellAt(t, v, 0, 0)
	if ann.sub != "ann@example.com · Eng" || !ann.tinted {
		t.Errorf("Ann's person cell %+v: want e-mail · team, tinted as overdue", ann)
	}
	if c := cellAt(t, v, 3, 0); c.sub != "dan@example.com" || c.tinted {
		t.Errorf("Dan's person cell %+v: want e-mail only (no team), not tinted", c)
	}
	for _, tc := range []struct {
		row  int
		text string
		imp  widget.Importance
	}{
		{0, "Overdue / day 56", widget.DangerImportance},
		{1, "In progress / day 21 of 30", widget.MediumImportance},
		{2, "In progress / day 7 of 30", widget.MediumImportance},
		{3, "Not started / starts in 7 days", widget.MediumImportance},
		{4, "Complete / ", widget.SuccessImportance},
	} {
		if c := cellAt(t, v, tc.row, 1); c.name+" / "+c.sub != tc.text || c.importance != tc.imp {
			t.Errorf("row %d status %q / %q (%v), want %q (%v)", tc.row, c.name, c.sub, c.importance, tc.text, tc.imp)
		}
	}
	if c := cellAt(t, v, 4, 0); c.importance != widget.MediumImportance {
		t.Errorf("a person's name after a status in the same template keeps importance %v", c.importance)
	}

	// Key columns: everyday and backup icons by evidence level.
	col := func(title string) int {
		for i, c := range v.cols {
			if c.title == title {
				return i
			}
		}
		t.Fatalf("no column %q", title)
		return -1
	}
	for _, tc := range []struct {
		row              int
		column           string
		everyday, backup Mark
	}{
		{0, "Google", MarkOnKey, MarkNoKey},
		{0, "GitHub", MarkSelfAttested, MarkNoKey},
		{0, "AWS", MarkMissing, MarkNoKey},
		{0, "OTP off", MarkMissing, MarkNoKey},
		{0, "Genuine", MarkUnconfirmed, MarkNoKey},
		{1, "1Password", MarkSelfAttested, MarkNoKey}, // the lost backup's Google is not shown
		{1, "Google", MarkMissing, MarkNoKey},
		{2, "AWS", MarkBySystem, MarkNoKey},
		{2, "OTP off", MarkDone, MarkNoKey},
		{2, "Genuine", MarkDone, MarkNoKey},
		{3, "macOS", MarkNoKey, MarkNoKey},
		{4, "macOS", MarkOnKey, MarkOnKey},
		{4, "OTP off", MarkDone, MarkDone},
		{4, "Genuine", MarkDone, MarkDone},
	} {
		c := cellAt(t, v, tc.row, col(tc.column))
		if resName(c.everyday) != resName(icon(tc.everyday)) || resName(c.backup) != resName(icon(tc.backup)) {
			t.Errorf("row %d %s shows %s/%s, want %v/%v", tc.row, tc.column, resName(c.everyday), resName(c.backup), tc.everyday, tc.backup)
		}
	}

	if len(v.Lost.Objects) != 1 {
		t.Fatalf("%d lost keys listed, want 1", len(v.Lost.Objects))
	}
	if got, want := v.Lost.Objects[0].(*widget.Label).Text, "Eve Fox <eve@example.com> · backup key YubiKey 5Ci, serial 20000006 · reported 27 Feb 2026"; got != want {
		t.Errorf("lost key %q, want %q", got, want)
	}
}

func TestIconsDistinguishMarks(t *testing.T) {
	// Marks that mean different things must not look alike (the two pairs
	// that share an icon share a meaning: done; not established).
	seen := map[string]Mark{}
	for _, m := range []Mark{MarkNoKey, MarkMissing, MarkSelfAttested, MarkBySystem, MarkOnKey} {
		n := resName(icon(m))
		if o, ok := seen[n]; ok {
			t.Errorf("%v and %v share icon %s", o, m, n)
		}
		seen[n] = m
	}
}

func TestRowDetails(t *testing.T) {
	v, w := open(t, &fake{view: fiveTeam()})
	v.Table.Select(widget.TableCellID{Row: 0, Col: 3})
	if v.Detail == nil {
		t.Fatal("selecting Ann's row opened no details")
	}
	want := `ann@example.com · Eng
Started 2026-01-05 · Overdue · day 56

Everyday key: YubiKey 5C Nano, serial 20000001, firmware 5.7.1
  Google: verified on the key
  macOS: missing
  AWS: missing
  1Password: missing
  GitHub: self-attested
  OTP: still enabled
  Genuine YubiKey: not confirmed

Backup key: none yet`
	if v.Detail.Text != want {
		t.Errorf("details:\n%s\nwant:\n%s", v.Detail.Text, want)
	}
	assertRenders(t, "team_details.xml", w)
	if len(w.Canvas().Overlays().List()) != 1 {
		t.Error("no dialog shown")
	}
}

func TestEmptyTeam(t *testing.T) {
	empty := tracker.BuildTeamView(maria, nil, nil, nil, testServices, now)
	v, w := open(t, &fake{view: empty})
	assertRenders(t, "team_empty.xml", w)
	if v.Table.Visible() || !v.Message.Visible() || v.Message.Text != "You are not a manager of anyone in the tracker." {
		t.Errorf("empty team: table visible %v, message %q", v.Table.Visible(), v.Message.Text)
	}
	if v.Summary.Text != "0 people · 0 complete · 0 overdue · 0 lost keys" {
		t.Errorf("summary %q", v.Summary.Text)
	}

	// IT sees everyone (no manager ID); an empty tracker says so.
	everyone := tracker.BuildTeamView(tracker.Person{Name: "Everyone"}, nil, nil, nil, testServices, now)
	v, _ = open(t, &fake{view: everyone})
	if v.Title.Text != "Everyone in the tracker" || v.Message.Text != "Nobody is registered in the tracker yet." {
		t.Errorf("IT, empty tracker: title %q, message %q", v.Title.Text, v.Message.Text)
	}
}

// TestTrackerUnreachable reads through the real tracker client from an
// address where nothing listens.
func TestTrackerUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	cl, err := client.New(client.Config{BaseURL: url, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: "kwt_x_y"}})
	if err != nil {
		t.Fatal(err)
	}
	v, w := open(t, sourceFunc(func(ctx context.Context) (tracker.TeamView, error) { return cl.Team(ctx, "") }))
	assertRenders(t, "team_unreachable.xml", w)
	if v.Message.Text != "Tracker unreachable: showing nothing; check the network and press Refresh." || v.Table.Visible() {
		t.Errorf("message %q, table visible %v", v.Message.Text, v.Table.Visible())
	}
	if v.Updated.Text != "Tried at 09:35" {
		t.Errorf("updated %q", v.Updated.Text)
	}
	if v.Refresh.Disabled() {
		t.Error("Refresh disabled after a failure: the manager cannot retry")
	}
}

type sourceFunc func(ctx context.Context) (tracker.TeamView, error)

func (f sourceFunc) Team(ctx context.Context) (tracker.TeamView, error) { return f(ctx) }

func TestRefresh(t *testing.T) {
	src := &fake{view: fiveTeam()}
	v, _ := open(t, src)

	// A refresh in flight disables the button; a second tap does nothing.
	gate := make(chan struct{})
	src.mu.Lock()
	src.gate = gate
	src.mu.Unlock()
	later := fiveTeam()
	later.Rows = later.Rows[1:] // Ann moved to another team
	later.Summary.People, later.Summary.Overdue = 4, 0
	later.GeneratedAt = now.Add(time.Hour)
	src.set(later, nil)
	test.Tap(v.Refresh)
	if !v.Refresh.Disabled() || v.Updated.Text != "Refreshing…" {
		t.Errorf("during refresh: disabled %v, updated %q", v.Refresh.Disabled(), v.Updated.Text)
	}
	test.Tap(v.Refresh)
	v.refresh() // even bypassing the disabled button
	close(gate)
	v.Wait()
	if got := src.count(); got != 2 {
		t.Errorf("%d fetches, want 2 (start + one refresh)", got)
	}
	if rows, _ := v.Table.Length(); rows != 4 || cellAt(t, v, 0, 0).name != "Eve Fox" {
		t.Errorf("after refresh: %d rows, first %q", rows, cellAt(t, v, 0, 0).name)
	}
	if v.Updated.Text != "Updated 2 Mar 2026 10:30" || v.Refresh.Disabled() {
		t.Errorf("after refresh: updated %q, disabled %v", v.Updated.Text, v.Refresh.Disabled())
	}

	// A failed refresh shows nothing rather than the stale table.
	src.mu.Lock()
	src.gate = nil
	src.mu.Unlock()
	src.set(tracker.TeamView{}, &client.APIError{Status: http.StatusBadGateway})
	test.Tap(v.Refresh)
	v.Wait()
	if v.Table.Visible() || len(v.Lost.Objects) != 0 || v.bottom.Visible() || v.Summary.Text != "" {
		t.Errorf("stale data shown after a failure: table %v, lost %d, summary %q", v.Table.Visible(), len(v.Lost.Objects), v.Summary.Text)
	}
	if !strings.Contains(v.Message.Text, "HTTP 502") {
		t.Errorf("message %q", v.Message.Text)
	}
	if rows, _ := v.Table.Length(); rows != 0 {
		t.Errorf("table still has %d rows", rows)
	}

	// And recovers on the next refresh.
	src.set(fiveTeam(), nil)
	test.Tap(v.Refresh)
	v.Wait()
	if rows, _ := v.Table.Length(); rows != 5 || !v.Table.Visible() || v.Message.Visible() {
		t.Errorf("after recovery: %d rows, table visible %v, message %q", rows, v.Table.Visible(), v.Message.Text)
	}
}

func TestNoFetchBeforeStartOrAfterCancel(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	src := &fake{view: fiveTeam()}
	v := New(w, src, Options{})
	w.SetContent(v.Content)
	if !v.Refresh.Disabled() {
		t.Error("Refresh enabled before Start")
	}
	test.Tap(v.Refresh)
	v.refresh()
	v.Wait()
	if src.count() != 0 {
		t.Errorf("%d fetches before Start", src.count())
	}
	if v.Message.Text != "Loading your team from the tracker…" {
		t.Errorf("before Start: %q", v.Message.Text)
	}

	// A fetch whose window has gone does not touch the widgets.
	gate := make(chan struct{})
	src.gate = gate
	ctx, cancel := context.WithCancel(context.Background())
	v.Start(ctx)
	cancel()
	v.Wait()
	if v.Table.Visible() || v.Updated.Text != "Refreshing…" {
		t.Errorf("cancelled fetch was shown: table %v, updated %q", v.Table.Visible(), v.Updated.Text)
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{client.ErrNoToken, msgNoToken},
		{fmt.Errorf("%w (%v)", client.ErrUnauthorized, &client.APIError{Status: 401}), msgTokenGone},
		{&client.APIError{Status: http.StatusForbidden}, msgForbidden},
		{fmt.Errorf("loading team: %w", &client.APIError{Status: http.StatusTooManyRequests}), msgBusy},
		{&client.APIError{Status: http.StatusServiceUnavailable}, msgBusy},
		{&client.APIError{Status: http.StatusInternalServerError}, "The tracker failed (HTTP 500): showing nothing; press Refresh in a few minutes, and tell IT if it keeps failing."},
		{&client.APIError{Status: http.StatusNotFound}, "The tracker refused the request (HTTP 404): showing nothing; tell IT (this app may need an update)."},
		{context.DeadlineExceeded, msgUnreachable},
		{errors.New("reaching tracker: dial tcp: connection refused"), msgUnreachable},
		{context.Canceled, ""},
	} {
		if got := explain(tc.err); got != tc.want {
			t.Errorf("explain(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestSummaryAndPlurals(t *testing.T) {
	for _, tc := range []struct {
		v    tracker.TeamView
		want string
	}{
		{tracker.TeamView{Summary: tracker.Summary{People: 1, Complete: 1}}, "1 person · 1 complete · 0 overdue · 0 lost keys"},
		{tracker.TeamView{Summary: tracker.Summary{People: 12, Overdue: 3}, LostKeys: make([]tracker.LostKey, 2)}, "12 people · 0 complete · 3 overdue · 2 lost keys"},
	} {
		if got := summary(tc.v); got != tc.want {
			t.Errorf("summary = %q, want %q", got, tc.want)
		}
	}
}

func TestOrganisationServices(t *testing.T) {
	// An organisation's own service gets a column, titled by the name the
	// reports gave it (else its ID), in the order the tracker sends.
	v := tracker.BuildTeamView(maria, []tracker.Person{{ID: "p1", Name: "A", StartDate: "2026-03-01"}},
		[]tracker.Key{{Serial: 1, PersonID: "p1", Role: tracker.RoleBackup, Status: tracker.KeyActive}},
		[]tracker.Item{{PersonID: "p1", Serial: 1, Service: "vpn", Evidence: "verified-by-hsm"}},
		[]string{"vpn", "github", "okta"}, now)
	v.ServiceNames = map[string]string{"vpn": "Company VPN", "github": "GitHub"}
	cols := columns(v)
	var titles []string
	for _, c := range cols {
		titles = append(titles, c.title)
	}
	if fmt.Sprint(titles) != "[Person Status Company VPN GitHub okta OTP off Genuine]" {
		t.Errorf("columns %q", titles)
	}
	if e, b := marks(v.Rows[0], cols[2]); e != MarkNoKey || b != MarkSelfAttested {
		t.Errorf("unknown evidence level shows %v/%v, want no key/self-attested", e, b)
	}
}

func TestInTabs(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	wizard := widget.NewLabel("the wizard")
	w.SetContent(wizard)
	v := New(w, &fake{}, Options{})
	tabs := v.InTabs(w)
	if w.Content() != tabs || len(tabs.Items) != 2 {
		t.Fatalf("window shows %T, %d tabs", w.Content(), len(tabs.Items))
	}
	if tabs.Items[0].Text != "My keys" || tabs.Items[0].Content != wizard || tabs.Items[1].Text != "My team" || tabs.Items[1].Content != v.Content {
		t.Errorf("tabs %q/%T, %q", tabs.Items[0].Text, tabs.Items[0].Content, tabs.Items[1].Text)
	}
	if again := v.InTabs(w); again != tabs || len(again.Items) != 2 {
		t.Error("InTabs twice nested the tabs")
	}
}

func TestStatus(t *testing.T) {
	at := time.Date(2026, 3, 2, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		row  tracker.Row
		want string
		imp  widget.Importance
	}{
		{tracker.Row{Complete: true, DaysSinceStart: 80}, "Complete", widget.SuccessImportance},
		{tracker.Row{Overdue: true, DaysSinceStart: 31}, "Overdue · day 31", widget.DangerImportance},
		{tracker.Row{Overdue: true, DaysSinceStart: 365}, "Overdue · day 365", widget.DangerImportance},
		{tracker.Row{Person: tracker.Person{StartDate: "2026-03-02"}}, "In progress · day 0 of 30", widget.MediumImportance},
		{tracker.Row{Person: tracker.Person{StartDate: "2026-03-03"}}, "Not started · starts tomorrow", widget.MediumImportance},
		{tracker.Row{Person: tracker.Person{StartDate: "2026-03-12"}}, "Not started · starts in 10 days", widget.MediumImportance},
		{tracker.Row{Person: tracker.Person{StartDate: "garbage"}, DaysSinceStart: 0}, "In progress · day 0 of 30", widget.MediumImportance},
	} {
		_, _, imp := status(tc.row, at)
		if got := statusLine(tc.row, at); got != tc.want || imp != tc.imp {
			t.Errorf("status(%+v) = %q (%v), want %q (%v)", tc.row, got, imp, tc.want, tc.imp)
		}
	}
}

// TestDetailsSayWhenGenuineWasChecked: a key's details give the time the
// tracker checked its attestation, and none where the tracker kept none.
func TestDetailsSayWhenGenuineWasChecked(t *testing.T) {
	at := time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)
	row := tracker.Row{
		Person:   tracker.Person{Name: "Ann", Email: "ann@example.com", StartDate: "2026-01-05"},
		Everyday: tracker.Cell{Serial: 1, Model: "YubiKey 5C", Genuine: true, GenuineCheckedAt: at, Services: map[string]tracker.Evidence{}},
		Backup:   tracker.Cell{Serial: 2, Model: "YubiKey 5C", GenuineCheckedAt: at, Services: map[string]tracker.Evidence{}},
	}
	got := details(tracker.TeamView{GeneratedAt: now}, row)
	for _, want := range []string{"Genuine YubiKey: yes (attested, checked at 1 Mar 2026 14:05)\n", "Genuine YubiKey: not confirmed (checked at 1 Mar 2026 14:05)"} {
		if !strings.Contains(got, want) {
			t.Errorf("details:\n%s\nwant %q", got, want)
		}
	}
	row.Everyday.GenuineCheckedAt = time.Time{}
	if got := details(tracker.TeamView{GeneratedAt: now}, row); !strings.Contains(got, "Genuine YubiKey: yes (attested)\n") {
		t.Errorf("details without a check time:\n%s", got)
	}
}
