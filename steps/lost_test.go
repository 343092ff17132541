package steps_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

const replacement = uint32(34567890)

// evidenceOn collects every step's evidence on key serial.
func evidenceOn(s steps.Snapshot, serial uint32) map[steps.StepID]steps.Evidence {
	out := map[steps.StepID]steps.Evidence{}
	for _, st := range s.Steps {
		if k, ok := st.Key(serial); ok && k.Evidence != nil {
			out[st.ID] = *k.Evidence
		}
	}
	return out
}

func lossView(t *testing.T, s steps.Snapshot) *steps.LossView {
	t.Helper()
	st, ok := s.Step(steps.StepLost)
	if !ok || st.Loss == nil || st.Kind != steps.KindLost {
		t.Fatalf("no lost-key step: %+v", st)
	}
	return st.Loss
}

// TestLostKeyFlow: with both keys enrolled on a Mac, the backup key is
// reported lost; the tracker is told at once; the checklist names every
// service, macOS login is unpaired and read back, the rest is confirmed by
// the person; a replacement takes the backup role and runs every step as a
// new key; the everyday key's results never change.
func TestLostKeyFlow(t *testing.T) {
	ctx := context.Background()
	h := stepstest.NewHarness(t, "darwin")
	h.AdvanceTo(t, steps.StepSummary)
	if !h.W.Snapshot().Complete {
		t.Fatalf("not complete before the loss: %v", h.W.Snapshot().Remaining)
	}
	before := evidenceOn(h.W.Snapshot(), stepstest.HarnessEveryday)
	lostIDs := h.SmartCard.PairedWith("alice")
	if len(lostIDs) != 4 {
		t.Fatalf("paired before the loss: %v", lostIDs)
	}

	if _, ok := h.W.Snapshot().Step(steps.StepLost); ok {
		t.Fatal("the lost-key step is listed before any key was lost")
	}
	// The key need not be plugged in.
	h.Keys.Unplug(stepstest.HarnessBackup)
	if err := h.W.ReportLost(ctx, stepstest.HarnessBackup, ""); err != nil {
		t.Fatal(err)
	}
	// The confirmation named the key by model and serial and was
	// destructive.
	cr := h.Prompter.ConfirmRequests[len(h.Prompter.ConfirmRequests)-1]
	if cr.Kind != steps.ConfirmLostKey || !cr.Destructive || !strings.Contains(cr.Title, fmt.Sprint(stepstest.HarnessBackup)) || !strings.Contains(cr.Title, "YubiKey") {
		t.Fatalf("confirmation %+v", cr)
	}
	sent := h.Lost.Sent()
	if len(sent) != 1 || sent[0].Serial != stepstest.HarnessBackup || sent[0].Role != steps.RoleBackup || sent[0].PersonEmail != "alice@example.com" || sent[0].Reason == "" {
		t.Fatalf("loss reports %+v", sent)
	}
	s := h.W.Snapshot()
	if s.Current != steps.StepLost || s.Complete {
		t.Fatalf("current %s, complete %v", s.Current, s.Complete)
	}
	if len(s.Keys) != 1 || s.Keys[0].Serial != stepstest.HarnessEveryday {
		t.Fatalf("keys after the loss %+v", s.Keys)
	}
	v := lossView(t, s)
	if v.Told != steps.ToldSent || !strings.HasPrefix(v.TrackerText, "Sent ") || v.Replaced {
		t.Fatalf("loss view %+v", v)
	}
	cat := stepstest.Catalogue()
	if len(v.Items) != len(cat.Services) {
		t.Fatalf("%d checklist items for %d services", len(v.Items), len(cat.Services))
	}
	for i, it := range v.Items {
		svc := cat.Services[i]
		if it.Service != svc.ID || len(it.Removal.Steps) == 0 || it.Removal.Admin == "" {
			t.Errorf("item %d %+v", i, it)
		}
		if it.ByKeywizard != (svc.ID == "macos") {
			t.Errorf("%s: by keywizard %v", svc.ID, it.ByKeywizard)
		}
		if svc.ID == "aws" && !strings.Contains(strings.Join(it.Removal.Steps, " "), fmt.Sprintf("yk-nfc-%d", stepstest.HarnessBackup)) {
			t.Errorf("AWS removal does not name the lost key's device: %q", it.Removal.Steps)
		}
		if svc.ID == "macos" && len(it.Identities) != 2 {
			t.Errorf("macOS item identities %v", it.Identities)
		}
	}
	if !slicesHasPrefix(s.Remaining, "Remove your lost backup key") {
		t.Fatalf("remaining %v", s.Remaining)
	}
	// The everyday key keeps every result.
	if after := evidenceOn(s, stepstest.HarnessEveryday); !reflect.DeepEqual(before, after) {
		t.Fatalf("everyday key's evidence changed:\n%v\n%v", before, after)
	}

	// The checklist, as the person works it.
	st, _ := s.Step(steps.StepLost)
	if err := stepstest.Complete(ctx, stepstest.WithPasskeys(h.W, h.Keys.RegisterPasskey), st, 0); err != nil {
		t.Fatal(err)
	}
	left := h.SmartCard.PairedWith("alice")
	if len(left) != 2 {
		t.Fatalf("paired after unpairing: %v", left)
	}
	for _, id := range lossView(t, h.W.Snapshot()).Items {
		if id.Service == "macos" {
			for _, x := range id.Identities {
				if strings.Contains(strings.Join(left, " "), x) {
					t.Fatalf("the lost key's identity %s is still paired", x)
				}
			}
		}
	}
	s = h.W.Snapshot()
	st, _ = s.Step(steps.StepLost)
	if st.Status != steps.StatusDone {
		t.Fatalf("lost step %s %s", st.Status, st.Reason)
	}
	for _, it := range st.Loss.Items {
		want := steps.SelfAttested
		if it.ByKeywizard {
			want = steps.VerifiedBySystem
		}
		if it.Evidence == nil || it.Evidence.Level != want {
			t.Errorf("%s: evidence %+v, want %s", it.Service, it.Evidence, want)
		}
	}
	if s.Complete {
		t.Fatal("complete with the backup role empty")
	}
	if _, r := keysReason(s); !strings.Contains(r, "reported lost") {
		t.Fatalf("keys step says %q", r)
	}

	// A replacement for the backup role, set up as for a new hire.
	h.Keys.Add(stepstest.NewKey(replacement, false))
	if err := h.W.DetectKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.W.Snapshot().Detected {
		if d.Serial == replacement && d.SuggestedRole != steps.RoleBackup {
			t.Fatalf("the new key is suggested as %q", d.SuggestedRole)
		}
	}
	if err := h.W.AssignRoles(ctx, stepstest.HarnessEveryday, replacement); err != nil {
		t.Fatal(err)
	}
	a := stepstest.WithPasskeys(h.W, h.Keys.RegisterPasskey)
	for _, st := range h.W.Snapshot().Steps {
		if st.Kind == steps.KindWelcome || st.Kind == steps.KindKeys || st.Kind == steps.KindLost || st.Kind == steps.KindSummary {
			continue
		}
		if err := stepstest.CompleteOnKeys(ctx, a, st.ID, replacement); err != nil {
			t.Fatal(err)
		}
	}
	s = h.W.Snapshot()
	if !s.Complete {
		t.Fatalf("not complete after the replacement: %v", s.Remaining)
	}
	if v := lossView(t, s); !v.Replaced {
		t.Fatal("the loss is not shown as replaced")
	}
	if after := evidenceOn(s, stepstest.HarnessEveryday); !reflect.DeepEqual(before, after) {
		t.Fatalf("everyday key's evidence changed:\n%v\n%v", before, after)
	}
	reps := h.Reporter.Sent()
	last := reps[len(reps)-1]
	var serials []uint32
	for _, k := range last.Keys {
		serials = append(serials, k.Serial)
	}
	if !reflect.DeepEqual(serials, []uint32{stepstest.HarnessEveryday, replacement}) || !last.Complete {
		t.Fatalf("last report keys %v complete %v", serials, last.Complete)
	}
	sum := h.W.Summary()
	for _, want := range []string{"## Lost keys", fmt.Sprintf("serial %d", stepstest.HarnessBackup), "Replaced", "verified by the system", "confirmed by you"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}

	// Resumed from the progress file, the loss is still there.
	w2, err := steps.New(ctx, h.Options)
	if err != nil {
		t.Fatal(err)
	}
	if v := lossView(t, w2.Snapshot()); v.Serial != stepstest.HarnessBackup || !v.Replaced {
		t.Fatalf("resumed loss %+v", v)
	}
}

func keysReason(s steps.Snapshot) (steps.Status, string) {
	st, _ := s.Step(steps.StepKeys)
	return st.Status, st.Reason
}

func slicesHasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestLostKeyOffline: the tracker does not answer; the loss waits in the
// queue and says "Waiting to send", never "Sent", until it answers.
func TestLostKeyOffline(t *testing.T) {
	ctx := context.Background()
	h := stepstest.NewHarness(t, "linux")
	h.AdvanceTo(t, steps.StepSummary)
	h.Lost.Err = fmt.Errorf("%w: dial tcp: connection refused", steps.ErrReportQueued)
	err := h.W.ReportLost(ctx, stepstest.HarnessBackup, "left on the train")
	if !errors.Is(err, steps.ErrReportQueued) {
		t.Fatalf("err %v", err)
	}
	v := lossView(t, h.W.Snapshot())
	if v.Told != steps.ToldWaiting || !strings.HasPrefix(v.TrackerText, "Waiting to send") || strings.Contains(v.TrackerText, "Sent") {
		t.Fatalf("offline: %s %q", v.Told, v.TrackerText)
	}
	if !strings.Contains(h.W.Summary(), "Waiting to send") {
		t.Fatal("the summary does not say the loss waits to be sent")
	}
	h.Lost.Err = nil
	if err := h.W.ResendPending(ctx); err != nil {
		t.Fatal(err)
	}
	if v := lossView(t, h.W.Snapshot()); v.Told != steps.ToldSent {
		t.Fatalf("after the tracker answered: %s %q", v.Told, v.TrackerText)
	}
	if sent := h.Lost.Sent(); len(sent) != 1 || sent[0].Reason != "left on the train" {
		t.Fatalf("sent %+v", sent)
	}
}

// TestLostKeyNoTracker: with nobody to tell, the step says IT has not been
// told.
func TestLostKeyNoTracker(t *testing.T) {
	ctx := context.Background()
	h := stepstest.NewHarness(t, "linux")
	o := h.Options
	o.LossReporter = nil
	w, err := steps.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := stepstest.AdvanceTo(ctx, stepstest.WithPasskeys(w, h.Keys.RegisterPasskey), w.GoTo, steps.StepSummary, stepstest.HarnessEveryday, stepstest.HarnessBackup); err != nil {
		t.Fatal(err)
	}
	if err := w.ReportLost(ctx, stepstest.HarnessEveryday, ""); !errors.Is(err, steps.ErrKeptLocally) {
		t.Fatalf("err %v", err)
	}
	v := lossView(t, w.Snapshot())
	if v.Told != steps.ToldNotSent || !strings.Contains(v.TrackerText, "no tracker is configured") {
		t.Fatalf("%s %q", v.Told, v.TrackerText)
	}
}

// TestLostKeyRefusals: a cancelled confirmation changes nothing; a serial
// that is not the person's is refused; a second loss waits for the first
// checklist; a refused loss report says so.
func TestLostKeyRefusals(t *testing.T) {
	ctx := context.Background()
	h := stepstest.NewHarness(t, "linux")
	h.AdvanceTo(t, steps.StepSummary)
	h.Prompter.Confirms = []bool{false}
	if err := h.W.ReportLost(ctx, stepstest.HarnessBackup, ""); !errors.Is(err, steps.ErrCancelled) {
		t.Fatalf("cancelled: %v", err)
	}
	if s := h.W.Snapshot(); len(s.Keys) != 2 || len(h.Lost.Sent()) != 0 {
		t.Fatalf("a cancelled report changed things: %d keys, %d sent", len(s.Keys), len(h.Lost.Sent()))
	}
	if err := h.W.ReportLost(ctx, replacement, ""); !errors.Is(err, steps.ErrNotYourKey) {
		t.Fatalf("not my key: %v", err)
	}
	h.Lost.Err = &steps.ReportRejectedError{Err: errors.New("404 not found"), Reason: "not your key"}
	if err := h.W.ReportLost(ctx, stepstest.HarnessBackup, ""); !errors.Is(err, steps.ErrReportRejected) {
		t.Fatalf("refused: %v", err)
	}
	if v := lossView(t, h.W.Snapshot()); v.Told != steps.ToldRefused || !strings.HasPrefix(v.TrackerText, "Not sent") {
		t.Fatalf("%s %q", v.Told, v.TrackerText)
	}
	if err := h.W.ReportLost(ctx, stepstest.HarnessEveryday, ""); !errors.Is(err, steps.ErrLossOpen) {
		t.Fatalf("second loss: %v", err)
	}
	if err := h.W.UnpairLost(ctx, "google"); err == nil {
		t.Fatal("unpairing Google")
	}
	// Off a Mac, macOS login has nothing to remove.
	if err := h.W.UnpairLost(ctx, "macos"); !errors.Is(err, steps.ErrNotApplicable) {
		t.Fatalf("unpair on linux: %v", err)
	}
}

// TestUnpairReadBack: an unpair that leaves the pairing in place is caught
// by reading sc_auth list back; nothing is recorded.
func TestUnpairReadBack(t *testing.T) {
	ctx := context.Background()
	h := stepstest.NewHarness(t, "darwin")
	h.AdvanceTo(t, steps.StepSummary)
	if err := h.W.ReportLost(ctx, stepstest.HarnessBackup, ""); err != nil {
		t.Fatal(err)
	}
	h.SmartCard.KeepPaired = true
	err := h.W.UnpairLost(ctx, "macos")
	var sp *steps.StillPairedError
	if !errors.As(err, &sp) || len(sp.Hashes) != 2 || sp.User != "alice" {
		t.Fatalf("err %v", err)
	}
	if len(h.SmartCard.Unpaired) != 2 {
		t.Fatalf("unpair asked for %v", h.SmartCard.Unpaired)
	}
	st, _ := h.W.Snapshot().Step(steps.StepLost)
	if st.Status != steps.StatusNeedsAttention {
		t.Fatalf("status %s", st.Status)
	}
	for _, it := range st.Loss.Items {
		if it.Service == "macos" && (it.Evidence != nil || it.Attention == "") {
			t.Fatalf("macOS item %+v", it)
		}
	}
	if err := h.W.ConfirmRemoved(ctx, "macos"); err == nil {
		t.Fatal("macOS login confirmed by hand")
	}
	h.SmartCard.KeepPaired = false
	if err := h.W.UnpairLost(ctx, "macos"); err != nil {
		t.Fatal(err)
	}
}

// TestLocalReporterLoss: with no tracker configured, a loss report is kept
// in the local record and reported as not sent.
func TestLocalReporterLoss(t *testing.T) {
	l := &steps.LocalReporter{Path: t.TempDir() + "/record.jsonl"}
	err := l.ReportLost(context.Background(), steps.LossReport{PersonEmail: "alice@example.com", Serial: 23456789, Role: steps.RoleBackup, Reason: "lost"})
	if !errors.Is(err, steps.ErrKeptLocally) {
		t.Fatalf("err %v", err)
	}
	data, rerr := os.ReadFile(l.Path)
	if rerr != nil || !strings.Contains(string(data), `"lost":{`) || !strings.Contains(string(data), "23456789") {
		t.Fatalf("record %q %v", data, rerr)
	}
}
