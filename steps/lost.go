package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// A lost key (docs/services.md §9: sign in with the other key, remove the
// lost one from every service, register a replacement at once): the
// person says which key, the tracker is told at once, a checklist names
// every service to remove it from, and the key's role is free for a
// replacement whose steps run as a new hire's. The other key keeps its
// records.

// lostReason is the reason the tracker gets when the person gives none.
const lostReason = "reported lost by its owner in keywizard"

func hasLoss(p *Progress) bool { return len(p.Losses) > 0 }

// reportedLost: serial is a key the person reported lost and that has no
// role again.
func (p *Progress) reportedLost(serial uint32) bool {
	if _, mine := p.key(serial); mine {
		return false
	}
	return slices.ContainsFunc(p.Losses, func(l *LossRecord) bool { return l.Serial == serial })
}

// lastLoss is the loss the checklist is about, or nil.
func (p *Progress) lastLoss() *LossRecord {
	if len(p.Losses) == 0 {
		return nil
	}
	return p.Losses[len(p.Losses)-1]
}

// lossReporter is who tells the tracker: Options.LossReporter, else the
// Reporter when it can, else nobody (no tracker configured).
func (w *Wizard) lossReporter() LossReporter {
	if w.o.LossReporter != nil {
		return w.o.LossReporter
	}
	if lr, ok := w.o.Reporter.(LossReporter); ok {
		return lr
	}
	return nil
}

// ReportLost reports one of the person's keys lost: after a confirmation
// naming the key by model and serial, the key gives up its role (its
// results are kept in the loss record as history; the other key's stay as
// they are), the tracker is told at once, and the lost-key checklist
// becomes the current step. The key need not be plugged in. A tracker that
// does not answer leaves the loss report waiting to send (an error
// matching ErrReportQueued); with no tracker configured it is kept here
// and the checklist says so (ErrKeptLocally).
func (w *Wizard) ReportLost(ctx context.Context, serial uint32, reason string) error {
	defer w.begin("Reporting the key lost")()
	w.mu.Lock()
	if w.p.Person == nil {
		w.mu.Unlock()
		return ErrNotStarted
	}
	ref, k, err := w.keyRefLocked(serial)
	if err != nil {
		w.mu.Unlock()
		return err
	}
	if l := w.p.lastLoss(); l != nil && w.lossLeftLocked(l) > 0 {
		w.mu.Unlock()
		return &LossOpenError{Serial: l.Serial, Label: lostLabel(l)}
	}
	w.mu.Unlock()
	ok, err := w.o.Prompter.Confirm(ctx, ConfirmRequest{Kind: ConfirmLostKey, Key: ref, Destructive: true,
		Title: fmt.Sprintf("Report %s (serial %d) as lost?", ref.Model, ref.Serial),
		Text: fmt.Sprintf("keywizard tells IT that your %s, %s serial %d, is lost, and lists every service to remove it from with your other key. "+
			"The key gives up its role: a new key takes it and is set up as for a new hire. Your other key keeps everything.", ref.Role.Words(), ref.Model, ref.Serial)})
	if err != nil {
		return cancelled(err)
	}
	if !ok {
		return fmt.Errorf("nothing was reported for %s: %w", ref.Label, ErrCancelled)
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = lostReason
	}
	w.mu.Lock()
	rec := &LossRecord{Serial: k.Serial, Model: k.Model, Role: k.Role, FormFactor: k.FormFactor, Reason: reason,
		ReportedAt: w.o.Clock.Now(), Removed: map[string]*Evidence{}, Results: map[StepID]*Item{}}
	if piv := w.p.PIV[serial]; piv != nil {
		rec.Identities = slices.Clone(piv.Identities)
	}
	for id, m := range w.p.Items {
		if it := m[serial]; it != nil {
			rec.Results[id] = it
			delete(m, serial)
		}
	}
	delete(w.p.PIV, serial)
	for _, per := range w.attention {
		delete(per, serial)
	}
	for _, per := range w.byHand {
		delete(per, serial)
	}
	w.p.Keys = slices.DeleteFunc(w.p.Keys, func(a AssignedKey) bool { return a.Serial == serial })
	w.p.Losses = append(w.p.Losses, rec)
	w.lossNote = map[string]error{}
	w.p.Current = StepLost
	err = w.saveLocked(ctx)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.tellLoss(ctx)
}

// tellLoss sends the latest loss report and records what came of it.
func (w *Wizard) tellLoss(ctx context.Context) error {
	w.mu.Lock()
	l := w.p.lastLoss()
	if l == nil {
		w.mu.Unlock()
		return ErrNoLoss
	}
	rep := LossReport{PersonEmail: w.p.Person.Email, Serial: l.Serial, Model: l.Model, Role: l.Role, Reason: l.Reason, At: l.ReportedAt}
	w.mu.Unlock()
	lr := w.lossReporter()
	var err error
	if lr == nil {
		err = &KeptLocallyError{Path: "this computer's progress file (no tracker is configured in this keywizard)"}
	} else {
		err = lr.ReportLost(ctx, rep)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &l.Tracker
	t.LastAttempt = w.o.Clock.Now()
	var res error
	switch {
	case errors.Is(err, ErrKeptLocally):
		t.Pending, t.Local, t.SentAt, t.Destination = false, true, time.Time{}, err.Error()
		l.Refused = ""
		res = fmt.Errorf("telling IT about the lost key: %w", err)
	case errors.Is(err, ErrReportRejected):
		t.Pending = false
		l.Refused = err.Error()
		res = fmt.Errorf("telling IT about the lost key: %w", err)
	case errors.Is(err, ErrReportQueued):
		// Kept in the tracker client's queue: it goes when the tracker
		// answers.
		t.Pending, t.Local = true, false
		l.Refused = ""
		res = fmt.Errorf("telling IT about the lost key: %w", err)
	case err != nil:
		// Not even queued: nothing sends it later, so it is not
		// "waiting to send"; the person tries again (Tell IT again).
		t.Pending, t.Local = false, false
		l.Refused = ""
		res = fmt.Errorf("telling IT about the lost key: %w", err)
	default:
		t.Pending, t.Local, t.SentAt = false, false, w.o.Clock.Now()
		l.Refused = ""
		t.Destination = "IT's onboarding tracker"
		if d, ok := lr.(Destination); ok {
			t.Destination = d.Destination()
		}
	}
	if serr := w.saveLocked(ctx); serr != nil {
		return errors.Join(res, serr)
	}
	return res
}

// ResendLoss tells the tracker about the latest lost key again (after a
// refusal, or once a tracker is connected).
func (w *Wizard) ResendLoss(ctx context.Context) error {
	defer w.begin("Telling IT about the lost key")()
	return w.tellLoss(ctx)
}

// lossPending: the latest loss report waits to be sent.
func (w *Wizard) lossPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.p.lastLoss()
	return l != nil && l.Tracker.Pending
}

// lostLabel names a lost key as Label does.
func lostLabel(l *LossRecord) string { return Label(l.Role, l.Model, l.Serial) }

// removalItemsLocked is the checklist of loss l: one item per catalogue
// service, in the catalogue's order.
func (w *Wizard) removalItemsLocked(l *LossRecord) []RemovalItem {
	var out []RemovalItem
	for _, s := range w.o.Catalogue.Services {
		out = append(out, w.removalItemLocked(l, s))
	}
	return out
}

func (w *Wizard) removalItemLocked(l *LossRecord, s catalogue.Service) RemovalItem {
	it := RemovalItem{Service: s.ID, Name: s.Name, ByKeywizard: s.Verification.Kind == catalogue.KindSCAuth, Status: StatusTodo}
	if s.Removal != nil {
		it.Removal = *s.Removal
	} else {
		// An organisation's own service that does not say how: the
		// general advice of docs/services.md §9.
		it.Removal = catalogue.Removal{URL: s.URL,
			Steps: []string{"Sign in to " + s.Name + " with your other key, find the lost key in its security settings and remove it.", "Come back here and confirm you removed it."},
			Admin: "Ask IT: an administrator of " + s.Name + " may be able to remove it for you."}
	}
	it.Removal.Steps = fillIn(it.Removal.Steps, AssignedKey{Serial: l.Serial, FormFactor: l.FormFactor})
	if it.ByKeywizard {
		it.Identities = slices.Clone(l.Identities)
		it.Removal.Admin = strings.ReplaceAll(it.Removal.Admin, "<user>", w.o.OSUser)
	}
	switch {
	case w.notApplicable(s) != "":
		it.NotApplicable, it.Status = w.notApplicable(s), StatusNotApplicable
	case it.ByKeywizard && len(l.Identities) == 0:
		it.NotApplicable, it.Status = "keywizard did not set this key up for login on this Mac, so there is no pairing to undo here", StatusNotApplicable
	case l.Removed[s.ID] != nil:
		e := *l.Removed[s.ID]
		it.Evidence, it.Status = &e, StatusDone
	case w.lossNote[s.ID] != nil:
		it.Attention, it.Problem, it.Status = w.lossNote[s.ID].Error(), w.lossNote[s.ID], StatusNeedsAttention
	}
	return it
}

// lossLeftLocked counts the checklist items of l still to do.
func (w *Wizard) lossLeftLocked(l *LossRecord) int {
	n := 0
	for _, it := range w.removalItemsLocked(l) {
		if it.Status != StatusDone && it.Status != StatusNotApplicable {
			n++
		}
	}
	return n
}

// lossViewLocked is the latest loss as the snapshot shows it.
func (w *Wizard) lossViewLocked() *LossView {
	l := w.p.lastLoss()
	if l == nil {
		return nil
	}
	v := &LossView{Serial: l.Serial, Model: l.Model, Role: l.Role, Label: lostLabel(l), ReportedAt: l.ReportedAt,
		Items: w.removalItemsLocked(l)}
	_, v.Replaced = w.p.keyByRole(l.Role)
	v.Told, v.TrackerText = lossTold(l)
	return v
}

// lossTold says where the loss report stands, never "sent" before the
// tracker answered.
func lossTold(l *LossRecord) (TrackerTold, string) {
	t := l.Tracker
	switch {
	case l.Refused != "":
		return ToldRefused, "Not sent: IT's tracker refused the lost-key report (" + l.Refused + "). Tell IT yourself."
	case t.Pending:
		return ToldWaiting, "Waiting to send: the lost-key report is saved on this computer and goes to IT's tracker when the network is back and the tracker answers. Tell IT yourself too if it is urgent."
	case t.Local:
		return ToldNotSent, "Not sent: no tracker is configured in this keywizard, so IT has not been told. Tell IT yourself now."
	case !t.SentAt.IsZero():
		return ToldSent, "Sent " + t.SentAt.Format("2006-01-02 15:04 MST") + ": IT's tracker has your lost-key report."
	}
	return ToldNotYet, "Not sent: IT's tracker has not received the lost-key report yet. Tell IT again, or tell IT yourself."
}

// lostStatus: done when every item of the checklist that applies is done.
func lostStatus(w *Wizard, id StepID) (Status, string) {
	l := w.p.lastLoss()
	if l == nil {
		return plainStatus(w, id)
	}
	for _, it := range w.removalItemsLocked(l) {
		if it.Attention != "" {
			return StatusNeedsAttention, it.Attention
		}
	}
	if w.lossLeftLocked(l) == 0 {
		return StatusDone, ""
	}
	return plainStatus(w, id)
}

func lostRemaining(w *Wizard, _ Step) []string {
	l := w.p.lastLoss()
	if l == nil {
		return nil
	}
	var out []string
	for _, it := range w.removalItemsLocked(l) {
		if it.Status != StatusDone && it.Status != StatusNotApplicable {
			out = append(out, fmt.Sprintf("Remove your lost %s (serial %d) from %s.", l.Role.Words(), l.Serial, it.Name))
		}
	}
	return out
}

// lossItem finds the checklist item of the latest loss for serviceID.
func (w *Wizard) lossItem(serviceID string) (*LossRecord, RemovalItem, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.p.lastLoss()
	if l == nil {
		return nil, RemovalItem{}, ErrNoLoss
	}
	s, ok := w.service(StepID(serviceID))
	if !ok {
		return nil, RemovalItem{}, fmt.Errorf("%w: %q", ErrUnknownStep, serviceID)
	}
	it := w.removalItemLocked(l, s)
	if it.NotApplicable != "" {
		return nil, RemovalItem{}, &NotApplicableError{Step: StepLost, Reason: it.NotApplicable}
	}
	return l, it, nil
}

// noteLoss records (or with msg "" clears) a checklist item's problem.
func (w *Wizard) noteLoss(serviceID string, err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		delete(w.lossNote, serviceID)
		return nil
	}
	w.lossNote[serviceID] = err
	return err
}

// OpenRemoval opens the page where the lost key is removed from a service.
func (w *Wizard) OpenRemoval(ctx context.Context, serviceID string) error {
	_, it, err := w.lossItem(serviceID)
	if err != nil {
		return err
	}
	defer w.begin("")()
	if it.Removal.URL == "" {
		return fmt.Errorf("%s has no page to open; keywizard removes it itself: %w", it.Name, device.ErrInvalidArgument)
	}
	if err := w.o.Browser.Open(it.Removal.URL); err != nil {
		return w.noteLoss(serviceID, &BrowserError{URL: it.Removal.URL, Err: err})
	}
	return w.noteLoss(serviceID, nil)
}

// ConfirmRemoved records the person's word that the lost key is removed
// from a service: a passkey on a key that is gone cannot be checked, so it
// is "confirmed by you" (SelfAttested), and IT sees it that way.
func (w *Wizard) ConfirmRemoved(ctx context.Context, serviceID string) error {
	l, it, err := w.lossItem(serviceID)
	if err != nil {
		return err
	}
	defer w.begin("Saving")()
	if it.ByKeywizard {
		return fmt.Errorf("keywizard removes the lost key from %s itself and checks it; use Unpair: %w", it.Name, device.ErrInvalidArgument)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.o.Clock.Now()
	l.Removed[serviceID] = &Evidence{Level: SelfAttested, At: now, CheckedAt: now,
		Detail: fmt.Sprintf("confirmed by you, not verified: you said you removed %s from %s (a key that is gone cannot be checked)", lostLabel(l), it.Name)}
	delete(w.lossNote, serviceID)
	return w.saveLocked(ctx)
}

// UnpairLost undoes the lost key's macOS smart-card pairing: each identity
// remembered when the key was set up that sc_auth lists for the user is
// unpaired (sc_auth unpair, docs/services.md §9), then `sc_auth list` is
// read back; it is done only when none of them is listed any more.
func (w *Wizard) UnpairLost(ctx context.Context, serviceID string) error {
	l, it, err := w.lossItem(serviceID)
	if err != nil {
		return err
	}
	if !it.ByKeywizard {
		return fmt.Errorf("%s is removed on its own page; confirm it once done: %w", it.Name, device.ErrInvalidArgument)
	}
	defer w.begin("Unpairing the lost key from this Mac")()
	user := w.o.OSUser
	paired, err := w.o.SmartCard.Paired(ctx, user)
	if err != nil {
		return w.noteLoss(serviceID, fmt.Errorf("asking macOS which keys are paired (sc_auth list): %w", err))
	}
	undone := 0
	for _, h := range it.Identities {
		if !containsFold(paired, h) {
			continue
		}
		if err := w.o.SmartCard.Unpair(ctx, user, h); err != nil {
			return w.noteLoss(serviceID, fmt.Errorf("unpairing the lost key's login identity %s (sc_auth unpair): %w", h, err))
		}
		undone++
	}
	after, err := w.o.SmartCard.Paired(ctx, user)
	if err != nil {
		return w.noteLoss(serviceID, fmt.Errorf("reading the pairings back (sc_auth list): %w", err))
	}
	var left []string
	for _, h := range it.Identities {
		if containsFold(after, h) {
			left = append(left, h)
		}
	}
	if len(left) > 0 {
		return w.noteLoss(serviceID, &StillPairedError{Key: lostLabel(l), User: user, Hashes: left})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.o.Clock.Now()
	l.Removed[serviceID] = &Evidence{Level: VerifiedBySystem, At: now, CheckedAt: now,
		Detail: fmt.Sprintf("sc_auth list no longer lists the lost key's login identities (%s) for user %s; %d unpaired by keywizard, read back %s",
			strings.Join(it.Identities, ", "), user, undone, now.Format("2006-01-02 15:04 MST"))}
	delete(w.lossNote, serviceID)
	return w.saveLocked(ctx)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// LossOpenError says a key cannot be reported lost while the checklist of
// the key lost before is unfinished: one checklist at a time, so nothing
// of the first is forgotten.
type LossOpenError struct {
	Serial uint32
	Label  string
}

func (e *LossOpenError) Error() string {
	return "finish removing " + e.Label + " from every service first (Lost key), then report the other key"
}

// Is makes LossOpenError match ErrLossOpen.
func (e *LossOpenError) Is(target error) bool { return target == ErrLossOpen }

// StillPairedError says macOS still lists the lost key's pairing after
// keywizard asked sc_auth to undo it (read back with sc_auth list): an
// administrator has to unpair it.
type StillPairedError struct {
	Key    string // the lost key's label
	User   string
	Hashes []string
}

func (e *StillPairedError) Error() string {
	return fmt.Sprintf("macOS still lists %s as paired with user %s after unpairing (sc_auth list: %s); ask IT to run sudo sc_auth unpair -u %s -h HASH for each",
		e.Key, e.User, strings.Join(e.Hashes, ", "), e.User)
}

// Is makes StillPairedError match ErrStillPaired.
func (e *StillPairedError) Is(target error) bool { return target == ErrStillPaired }
