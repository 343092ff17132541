package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/cli"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/server"
)

// computer is one person's machine: its own settings directory and
// keychain (a fake), signed in with their token.
type computer struct {
	*joiner
	tok string
}

// runTracker runs `tracker <args>` on c.
func (c *computer) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := cli.NewCommand(cli.Env{Join: c.opts()})
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if c.tok != "" && (strings.Contains(out.String(), c.tok) || strings.Contains(errOut.String(), c.tok)) {
		t.Errorf("tracker %v printed the token", args)
	}
	return out.String(), errOut.String(), err
}

// keyWorld is a live tracker with IT, a manager, ann (reporting to the
// manager, with two keys) and bob (one key), each on their own computer.
type keyWorld struct {
	lt                *liveTracker
	it, mgr, ann, bob *computer
	mgrID, annID      string
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	lt := newLiveTracker(t, server.Config{Services: []string{"google"}, Policy: &tracker.LegacyPolicy})
	w := &keyWorld{lt: lt}
	mgr := lt.person(t, "mgr@example.com", "Maria Manager", "")
	ann := lt.person(t, "ann@example.com", "Ann Lee", "mgr@example.com")
	bob := lt.person(t, "bob@example.com", "Bob Ray", "")
	w.mgrID, w.annID = mgr.ID, ann.ID
	// IT signs in with `tracker login`, which keeps the token and the
	// address; the others' computers joined, here by token.
	w.it = &computer{joiner: newJoiner(t), tok: lt.adminTok}
	if out, _, err := w.it.run(t, lt.adminTok+"\n", "login", "--url", lt.url); err != nil || !strings.Contains(out, "IT Desk") || !strings.Contains(out, "IT administrator") {
		t.Fatalf("login: %q, %v", out, err)
	}
	for _, x := range []struct {
		p   tracker.Person
		dst **computer
	}{{mgr, &w.mgr}, {ann, &w.ann}, {bob, &w.bob}} {
		tok, err := server.AdminToken(context.Background(), lt.st, x.p.ID, "laptop", 0, lt.now)
		if err != nil {
			t.Fatal(err)
		}
		c := &computer{joiner: newJoiner(t), tok: tok}
		c.tokens[lt.url] = &client.MemoryStore{Value: tok}
		c.env[join.EnvTracker] = lt.url
		*x.dst = c
	}
	w.report(t, w.ann, 5101, tracker.RoleEveryday)
	w.report(t, w.ann, 5102, tracker.RoleBackup)
	w.report(t, w.bob, 5201, tracker.RoleEveryday)
	return w
}

// report sends a full report for a key as c's owner.
func (w *keyWorld) report(t *testing.T, c *computer, serial uint32, role tracker.KeyRole) {
	t.Helper()
	r := tracker.Report{IdempotencyKey: client.NewIdempotencyKey(), Serial: serial, Model: "YubiKey 5C NFC", Role: role, AppVersion: "1.0.0",
		Services: []tracker.Service{{ID: "google", Name: "Google"}}}
	for _, s := range []string{"google", tracker.ServiceOTP} {
		r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: w.lt.now})
	}
	body, _ := json.Marshal(r)
	req, _ := http.NewRequest("POST", w.lt.url+"/v1/reports", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report of %d: %s", serial, resp.Status)
	}
}

func (w *keyWorld) status(t *testing.T, serial uint32) tracker.KeyStatus {
	t.Helper()
	rec, err := w.lt.st.KeyRecord(context.Background(), serial)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Status
}

// audited returns the audit entries with action about subject.
func (w *keyWorld) audited(t *testing.T, subject, action string) []tracker.AuditEntry {
	t.Helper()
	es, err := w.lt.st.Audit(context.Background(), subject, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []tracker.AuditEntry
	for _, e := range es {
		if e.Action == action && e.Subject == subject {
			out = append(out, e)
		}
	}
	return out
}

// TestKeyCommandsRights: the key commands have the dashboard's rights,
// because the tracker decides: IT finds any key and changes its status;
// a manager can do neither for their report's key; a person can report
// only their own key lost, and nothing else.
func TestKeyCommandsRights(t *testing.T) {
	w := newKeyWorld(t)
	for _, c := range []struct {
		name string
		who  *computer
		args []string
		want error // nil: it works
	}{
		{"manager finds a report's key", w.mgr, []string{"key", "find", "5101"}, cli.ErrNotIT},
		{"manager marks a report's key lost", w.mgr, []string{"key", "lost", "5101", "--reason", "ann told me"}, cli.ErrNotYourKey},
		{"manager marks a report's key found", w.mgr, []string{"key", "found", "5101", "--reason", "x"}, cli.ErrNotIT},
		{"manager retires a report's key", w.mgr, []string{"key", "retire", "5101", "--reason", "x"}, cli.ErrNotIT},
		{"person finds their own key", w.ann, []string{"key", "find", "5101"}, cli.ErrNotIT},
		{"person reports another's key lost", w.ann, []string{"key", "lost", "5201", "--reason", "bob's"}, cli.ErrNotYourKey},
		{"person reports an unknown key lost", w.ann, []string{"key", "lost", "5999", "--reason", "which?"}, cli.ErrNotYourKey},
		{"person retires their own key", w.ann, []string{"key", "retire", "5101", "--reason", "x"}, cli.ErrNotIT},
		{"person marks their own key found", w.ann, []string{"key", "found", "5101", "--reason", "x"}, cli.ErrNotIT},
	} {
		_, _, err := c.who.run(t, "", c.args...)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for serial, want := range map[uint32]tracker.KeyStatus{5101: tracker.KeyActive, 5102: tracker.KeyActive, 5201: tracker.KeyActive} {
		if got := w.status(t, serial); got != want {
			t.Errorf("after the refusals, key %d is %s, want %s", serial, got, want)
		}
	}
	// The tracker logged the refusals (403s) with who was refused.
	es, err := w.lt.st.Audit(context.Background(), w.mgrID, 0)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range es {
		if e.Action == "request.refused" && e.Actor == w.mgrID && strings.Contains(e.Detail, "403") {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("the manager's refused requests are not in the audit log: %+v", es)
	}

	// The person reports their own key lost: reported-lost, for IT.
	out, _, err := w.ann.run(t, "", "key", "lost", "5102", "--reason", "left it on the train")
	if err != nil || !strings.Contains(out, "Reported key 5102 lost") || !strings.Contains(out, "not complete") {
		t.Fatalf("ann reporting her key lost: %q, %v", out, err)
	}
	if got := w.status(t, 5102); got != tracker.KeyReportedLost {
		t.Errorf("after ann's report, key 5102 is %s, want reported-lost", got)
	}
	if es := w.audited(t, w.annID, "key.reported-lost"); len(es) != 1 || es[0].Actor != w.annID || es[0].Reason != "left it on the train" {
		t.Errorf("audit of ann's report: %+v", es)
	}

	// IT finds it by serial: owner, status, history; the look-up is audited.
	out, _, err = w.it.run(t, "", "key", "find", "5102")
	for _, want := range []string{"Key 5102", "backup key", "reported-lost", "Ann Lee <ann@example.com>", w.annID, "enrolled as backup key", "left it on the train"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("key find 5102: %q, %v; want %q in it", out, err, want)
		}
	}
	if es := w.audited(t, w.annID, "key.read"); len(es) != 1 {
		t.Errorf("key find audited %d times, want 1", len(es))
	}
	// IT confirms, finds, retires; each audited with IT as actor and the reason.
	for _, step := range []struct {
		verb, reason string
		status       tracker.KeyStatus
	}{
		{"lost", "ticket IT-7: confirmed", tracker.KeyLost},
		{"found", "ticket IT-7: in her other bag", tracker.KeyActive},
		{"retire", "ticket IT-8: replaced", tracker.KeyRetired},
	} {
		out, _, err := w.it.run(t, "", "key", step.verb, "5102", "--reason", step.reason)
		if err != nil || !strings.Contains(out, "is now "+string(step.status)) {
			t.Errorf("key %s: %q, %v", step.verb, out, err)
		}
		if got := w.status(t, 5102); got != step.status {
			t.Errorf("after key %s, 5102 is %s", step.verb, got)
		}
		es := w.audited(t, w.annID, "key."+string(step.status))
		if len(es) == 0 || es[0].Actor != w.lt.admin.ID || es[0].Reason != step.reason || es[0].Detail != "serial 5102" {
			t.Errorf("audit of key %s: %+v", step.verb, es)
		}
	}
	// A refused transition says why.
	_, _, err = w.it.run(t, "", "key", "found", "5102", "--reason", "back again")
	if err == nil || !strings.Contains(err.Error(), "retired") {
		t.Errorf("found after retire: %v, want a refusal naming retired", err)
	}
	if _, _, err := w.it.run(t, "", "key", "find", "5999"); !errors.Is(err, client.ErrNoSuchKey) {
		t.Errorf("finding an unknown key: %v", err)
	}
}

// TestKeyCommandsNeedReason: lost, found and retire need --reason, and
// without one nothing reaches the tracker.
func TestKeyCommandsNeedReason(t *testing.T) {
	w := newKeyWorld(t)
	before, err := w.lt.st.Audit(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []*computer{w.it, w.ann} {
		for _, verb := range []string{"lost", "found", "retire"} {
			for _, args := range [][]string{{"key", verb, "5101"}, {"key", verb, "5101", "--reason", "  "}} {
				if _, _, err := who.run(t, "", args...); !errors.Is(err, cli.ErrNoReason) {
					t.Errorf("%v: %v, want ErrNoReason", args, err)
				}
			}
		}
	}
	after, err := w.lt.st.Audit(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || w.status(t, 5101) != tracker.KeyActive {
		t.Errorf("commands without a reason reached the tracker: %d audit entries before, %d after", len(before), len(after))
	}
	if _, _, err := w.it.run(t, "", "key", "lost", "nope", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "not a key serial") {
		t.Errorf("a bad serial: %v", err)
	}
}

// TestLogin: a token the tracker refuses is not kept; no tracker saved
// and none named says what to run.
func TestLogin(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	c := &computer{joiner: newJoiner(t)}
	if _, _, err := c.run(t, "kwt_0123456789abcdef_nope\n", "login", "--url", lt.url); !errors.Is(err, join.ErrTokenRejected) {
		t.Errorf("bad token: %v", err)
	}
	if v, _ := c.tokens[lt.url].Token(); v != "" {
		t.Error("a refused token was kept")
	}
	if _, _, err := c.run(t, "\n\n", "login", "--url", lt.url); !errors.Is(err, join.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
	if _, _, err := c.run(t, "", "key", "find", "1"); !errors.Is(err, join.ErrNotJoined) {
		t.Errorf("key find with no tracker: %v", err)
	}
}
