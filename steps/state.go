package steps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps/catalogue"
)

var roles = []Role{RoleEveryday, RoleBackup}

// stepStatusLocked derives a step's status from the progress.
func (w *Wizard) stepStatusLocked(id StepID) Status {
	st, _ := w.stepStatusReasonLocked(id)
	return st
}

func (w *Wizard) stepDoneLocked(id StepID) bool { return w.stepStatusLocked(id) == StatusDone }

func (w *Wizard) stepStatusReasonLocked(id StepID) (Status, string) {
	e, ok := w.entry(id)
	if !ok || e.def.status == nil {
		return perKeyStatus(w, id)
	}
	return e.def.status(w, id)
}

// newerThanReportLocked reports whether any evidence was recorded after
// the last report was sent.
func (w *Wizard) newerThanReportLocked() bool {
	sent := w.p.Report.SentAt
	for _, m := range w.p.Items {
		for _, it := range m {
			if it.Evidence != nil && it.Evidence.At.After(sent) {
				return true
			}
		}
	}
	return false
}

// snapshotLocked builds a deep-copied Snapshot; the caller holds w.mu.
func (w *Wizard) snapshotLocked() Snapshot {
	p := w.p
	now := w.o.Clock.Now()
	s := Snapshot{Seq: w.seq, Current: p.Current, Busy: w.busy, Tracker: w.tracker}
	if p.Person != nil {
		s.Started = true
		s.Person = *p.Person
		if p.Person.Accounts != nil {
			s.Person.Accounts = map[string]string{}
			for k, v := range p.Person.Accounts {
				s.Person.Accounts[k] = v
			}
		}
		s.Deadline = deadline(p.Person.StartDate)
		s.DaysLeft = int(math.Ceil(s.Deadline.Sub(now).Hours() / 24))
	}
	for _, r := range roles {
		if k, ok := p.keyByRole(r); ok {
			c, conn := w.connected[k.Serial]
			v := KeyView{Serial: k.Serial, Model: k.Model, Role: r, Label: Label(r, k.Model, k.Serial), Connected: conn, FormFactor: k.FormFactor, PINRetries: -1,
				Presence: w.presenceLocked(k.Serial), ReplugNeeded: w.replug[k.Serial]}
			if c.FIDO != nil {
				v.PINSet, v.PINRetries = c.FIDO.PINSet, c.FIDO.PINRetries
			}
			s.Keys = append(s.Keys, v)
		}
	}
	var detected []device.Key
	for _, serial := range sortedSerials(w.connected) {
		detected = append(detected, w.connected[serial])
	}
	sugg := suggestRoles(detected)
	// With one role filled, a new key can only be for the other one.
	var missing Role
	if len(p.Keys) == 1 {
		missing = RoleBackup
		if p.Keys[0].Role == RoleBackup {
			missing = RoleEveryday
		}
	}
	for _, k := range detected {
		if _, mine := p.key(k.Serial); !mine && missing != "" {
			sugg[k.Serial] = missing
		}
		if p.reportedLost(k.Serial) {
			sugg[k.Serial] = "" // never offered its old role back by default
		}
		v := KeyView{Serial: k.Serial, Model: k.Model, Connected: true, FormFactor: k.Info.FormFactor.String(), SuggestedRole: sugg[k.Serial], PINRetries: -1,
			Presence: PresencePlugged, ReplugNeeded: w.replug[k.Serial]}
		if k.FIDO != nil {
			v.PINSet, v.PINRetries = k.FIDO.PINSet, k.FIDO.PINRetries
		}
		if a, ok := p.key(k.Serial); ok {
			v.Role = a.Role
			v.SuggestedRole = a.Role
		}
		v.Label = Label(v.SuggestedRole, k.Model, k.Serial)
		s.Detected = append(s.Detected, v)
		if _, mine := p.key(k.Serial); !mine && !slices.Contains(p.Ignored, k.Serial) && !p.reportedLost(k.Serial) {
			s.Unknown = append(s.Unknown, v)
		}
		if p.reportedLost(k.Serial) {
			// Found again, or never lost: IT decides (it marks a key
			// found); keywizard does not offer it a role meanwhile.
			s.Messages = append(s.Messages, fmt.Sprintf("The key you reported lost (%s · serial %d) is plugged in; keywizard leaves it alone. If you found it, tell IT, who can mark it found.", k.Model, k.Serial))
		}
	}
	for _, e := range w.steps() {
		st := w.buildStepLocked(e)
		s.Steps = append(s.Steps, st)
		if st.Status != StatusDone && st.Status != StatusNotApplicable {
			s.Remaining = append(s.Remaining, w.remainingLocked(e, st)...)
		}
	}
	s.Complete = len(s.Remaining) == 0
	s.Overdue = s.Started && !s.Complete && now.After(s.Deadline)
	if len(p.Keys) == 1 {
		_, r := w.stepStatusReasonLocked(StepKeys)
		s.Messages = append(s.Messages, r)
	}
	for _, u := range s.Unknown {
		if len(p.Keys) < 2 && p.Person != nil {
			if p.Current == StepKeys {
				// Your keys lists every plugged-in key with its role
				// choices: a notice pointing there would only repeat them.
				continue
			}
			s.Messages = append(s.Messages, fmt.Sprintf("A key keywizard has not seen is plugged in (%s · serial %d). Give it a role in Your keys, or ignore it.", u.Model, u.Serial))
		} else if p.Person != nil {
			s.Messages = append(s.Messages, fmt.Sprintf("A key that is not one of your two keys is plugged in (%s · serial %d); keywizard leaves it alone. Unplug it, or use it instead of one of yours in Your keys.", u.Model, u.Serial))
		}
	}
	return s
}

// presenceLocked says whether key serial is plugged in, unplugged or
// restarting after a change keywizard made.
func (w *Wizard) presenceLocked(serial uint32) Presence {
	switch _, ok := w.connected[serial]; {
	case ok:
		return PresencePlugged
	case w.restarting[serial]:
		return PresenceRestarting
	}
	return PresenceUnplugged
}

// fillIn puts what keywizard knows about the key into a service's
// instructions: "<serial>" becomes its serial (AWS asks to name the device
// "yk-nano-<serial>"; the person should not have to read it off the key),
// and a "yk-nano-"/"yk-nfc-" pair offers only the one that fits the key.
func fillIn(lines []string, k AssignedKey) []string {
	out := slices.Clone(lines)
	serial := fmt.Sprint(k.Serial)
	name := "yk-nfc-" + serial
	if strings.Contains(strings.ToLower(k.FormFactor), "nano") {
		name = "yk-nano-" + serial
	}
	for i, l := range out {
		l = strings.ReplaceAll(l, "yk-nano-<serial> or yk-nfc-<serial>", name)
		out[i] = strings.ReplaceAll(l, "<serial>", serial)
	}
	return out
}

func (w *Wizard) buildStepLocked(e stepEntry) Step {
	p := w.p
	id, kind, svc := e.id, e.def.kind, e.svc
	st := Step{ID: id, Kind: kind, Title: e.title(), Action: e.action()}
	if svc != nil {
		c := *svc
		c.Instructions = slices.Clone(svc.Instructions)
		c.AlternateURLs = slices.Clone(svc.AlternateURLs)
		c.Platforms = slices.Clone(svc.Platforms)
		st.Service = &c
		st.CanOpen = svc.URL != ""
		st.CanVerify = svc.Verification.Kind != catalogue.KindSelfAttest
		st.CanAttest = svc.Verification.Kind != catalogue.KindSCAuth
		st.NeedAccount = svc.Verification.User == catalogue.UserAccount && (p.Person == nil || p.Person.Accounts[svc.ID] == "")
	}
	st.Status, st.Reason = w.stepStatusReasonLocked(id)
	if kind == KindLost {
		st.Loss = w.lossViewLocked()
	}
	if st.Service != nil {
		// The instructions name the key the person works on next.
		for _, r := range roles {
			if k, ok := p.keyByRole(r); ok && p.evidence(id, k.Serial) == nil {
				st.Service.Instructions = fillIn(st.Service.Instructions, k)
				break
			}
		}
	}
	if !e.def.perKey || st.Status == StatusNotApplicable {
		return st
	}
	for _, r := range roles {
		k, ok := p.keyByRole(r)
		if !ok {
			if len(p.Keys) > 0 {
				st.Keys = append(st.Keys, StepKey{Role: r, Label: "your " + r.Words() + " (not set up yet)", Missing: true, Status: StatusTodo})
			}
			continue
		}
		_, conn := w.connected[k.Serial]
		sk := StepKey{Serial: k.Serial, Role: r, Label: Label(r, k.Model, k.Serial), Status: StatusTodo, Connected: conn, Presence: w.presenceLocked(k.Serial)}
		if it := p.Items[id][k.Serial]; it != nil {
			sk.OpenedAt = it.OpenedAt
			sk.Lost = it.Lost
			if it.Evidence != nil {
				e := *it.Evidence
				sk.Evidence = &e
				sk.Status = StatusDone
			}
		}
		if err := w.attention[id][k.Serial]; err != nil {
			sk.Attention, sk.Problem = err.Error(), err
			sk.Status = StatusNeedsAttention
		}
		sk.OpenByHand = w.byHand[id][k.Serial]
		sk.CanRedo = p.Items[id][k.Serial] != nil || sk.Attention != "" || sk.OpenByHand != "" ||
			(kind == KindMacOS && p.PIV[k.Serial] != nil)
		st.Keys = append(st.Keys, sk)
	}
	return st
}

func (w *Wizard) remainingLocked(e stepEntry, st Step) []string {
	if e.def.remaining != nil {
		return e.def.remaining(w, st)
	}
	return perKeyRemaining(st)
}

// --- report and summary -------------------------------------------------

// buildReportLocked assembles the report from the progress.
func (w *Wizard) buildReportLocked(snap Snapshot) Report {
	p := w.p
	r := Report{Person: snap.Person, Deadline: snap.Deadline, AppVersion: w.o.AppVersion, GeneratedAt: w.o.Clock.Now(),
		Complete: w.isComplete(snap), Remaining: slices.DeleteFunc(slices.Clone(snap.Remaining), func(s string) bool { return strings.HasPrefix(s, "Send the report") })}
	for _, s := range w.o.Catalogue.Services {
		r.Services = append(r.Services, ReportService{ID: s.ID, Name: s.Name})
	}
	for _, r0 := range roles {
		k, ok := p.keyByRole(r0)
		if !ok {
			continue
		}
		rk := ReportKey{Serial: k.Serial, Model: k.Model, Role: k.Role, Firmware: k.Firmware, Items: []ReportItem{}}
		for _, e := range w.steps() {
			if e.def.report == ReportAsNothing {
				continue
			}
			if e.svc != nil {
				if why := w.notApplicable(*e.svc); why != "" {
					rk.NotApplicable = append(rk.NotApplicable, ReportSkip{Service: e.svc.ID, Reason: why})
					continue
				}
			}
			ev := p.evidence(e.id, k.Serial)
			if ev == nil {
				continue
			}
			rk.Items = append(rk.Items, ReportItem{Service: string(e.id), Level: ev.Level, Detail: ev.Detail, At: ev.At, CheckedAt: ev.Checked()})
			if e.def.report == ReportAsOTP {
				rk.OTPDisabled = true
			}
		}
		r.Keys = append(r.Keys, rk)
	}
	return r
}

// reportReceivedLocked: a tracker accepted the latest report.
func (w *Wizard) reportReceivedLocked() bool {
	r := w.p.Report
	return !r.SentAt.IsZero() && !r.Local && !r.Pending
}

// isComplete: everything but the wrap-up (report, summary) is done.
func (w *Wizard) isComplete(s Snapshot) bool {
	for _, st := range s.Steps {
		if e, ok := w.entry(st.ID); ok && e.def.wrapUp {
			continue
		}
		if st.Status != StatusDone && st.Status != StatusNotApplicable {
			return false
		}
	}
	return true
}

// Report sends the report to the tracker. The key's attestation is added
// when the key is plugged in. If sending fails (no network) the report step
// stays pending and the error matches ErrReportQueued; progress is kept and
// calling Report again later sends it. If the tracker refuses the report for
// good, the error matches ErrReportRejected and the step is not done.
func (w *Wizard) Report(ctx context.Context) error {
	defer w.begin("Sending your report")()
	w.mu.Lock()
	if err := w.checkReachableLocked(StepReport); err != nil {
		w.mu.Unlock()
		return err
	}
	var mine []KeyRef
	for _, k := range w.p.Keys {
		ref, _, _ := w.keyRefLocked(k.Serial)
		mine = append(mine, ref)
	}
	w.mu.Unlock()
	// The report claims no more than the latest check: read the keys
	// again first (passkeys only when not read in this run, which would
	// ask for the PIN; what is not plugged in keeps its last check).
	for _, ref := range mine {
		w.mu.Lock()
		read := w.passkeysRead[ref.Serial]
		w.mu.Unlock()
		_ = w.recheck(ctx, ref, !read)
	}
	w.mu.Lock()
	rep := w.buildReportLocked(w.snapshotLocked())
	w.mu.Unlock()
	for i := range rep.Keys {
		rk := &rep.Keys[i]
		a, err := w.o.Keys.Attestation(ctx, rk.Serial)
		if err != nil {
			rk.AttestationError = attestationProblem(err)
			continue
		}
		rk.Attestation = &a
	}
	err := w.o.Reporter.Report(ctx, rep)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p.Report.LastAttempt = w.o.Clock.Now()
	if errors.Is(err, ErrKeptLocally) {
		// Written on this computer only: IT has received nothing, so it
		// is not sent, whatever else is true.
		w.p.Report.Pending = false
		w.p.Report.Local = true
		w.p.Report.SentAt = time.Time{}
		w.p.Report.Destination = err.Error()
		if serr := w.saveLocked(ctx); serr != nil {
			return errors.Join(fmt.Errorf("keeping the report: %w", err), serr)
		}
		return fmt.Errorf("keeping the report: %w", err)
	}
	if errors.Is(err, ErrReportRejected) {
		// Nothing is queued: the person fixes what the tracker objected
		// to (or asks IT) and sends again.
		w.p.Report.Pending = false
		if serr := w.saveLocked(ctx); serr != nil {
			return errors.Join(fmt.Errorf("sending the report: %w", err), serr)
		}
		return fmt.Errorf("sending the report: %w", err)
	}
	if err != nil {
		w.p.Report.Pending = true
		if serr := w.saveLocked(ctx); serr != nil {
			return errors.Join(fmt.Errorf("sending the report: %w", err), serr)
		}
		if errors.Is(err, ErrReportQueued) {
			return fmt.Errorf("sending the report: %w", err)
		}
		return fmt.Errorf("%w: %w", ErrReportQueued, err)
	}
	w.p.Report.Pending = false
	w.p.Report.SentAt = w.o.Clock.Now()
	w.p.Report.Destination = "sent to the onboarding tracker"
	w.recordGenuineLocked(ctx, rep)
	if d, ok := w.o.Reporter.(Destination); ok {
		w.p.Report.Destination = d.Destination()
	}
	// Kept on this computer, it is due again once connected (Join).
	w.p.Report.Local = w.o.Tracker != nil && !w.tracker.Connected
	if w.p.Report.Local {
		// Handed to a Reporter while no tracker is connected: IT has not
		// received it.
		w.p.Report.SentAt = time.Time{}
		return w.saveLocked(ctx)
	}
	if w.p.Current == StepReport {
		w.p.Current = StepSummary
	}
	return w.saveLocked(ctx)
}

func attestationProblem(err error) string {
	switch {
	case errors.Is(err, device.ErrNotFound):
		return "the key was not plugged in when the report was made"
	case errors.Is(err, device.ErrRemoved):
		return "the key was removed while it was read"
	case errors.Is(err, device.ErrAuthentication):
		// device/piv's ManagementKeyNotDefaultError (docs/genuine-key.md).
		return "the key's PIV management key is its owner's, and no key generated on it can be attested; keywizard leaves it as it is"
	case errors.Is(err, device.ErrUnsupported):
		return "the key cannot attest, or cannot say which PIV slot is free (firmware before 5.3)"
	}
	return "the attestation could not be read"
}

// ResendPending sends a report and a lost-key report that wait to be sent
// (the tracker did not answer last time); with none waiting it does
// nothing. A
// frontend calls it now and then, so "Waiting to send" becomes "Sent" only
// once the tracker has answered.
func (w *Wizard) ResendPending(ctx context.Context) error {
	var lossErr error
	if w.lossPending() {
		lossErr = w.ResendLoss(ctx)
	}
	w.mu.Lock()
	pending := w.p.Report.Pending
	w.mu.Unlock()
	if !pending {
		return lossErr
	}
	return errors.Join(lossErr, w.Report(ctx))
}

// LastReport returns the report as it would be sent now (without
// attestations), e.g. for a frontend to show before sending.
func (w *Wizard) LastReport() Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buildReportLocked(w.snapshotLocked())
}

// Summary is a Markdown summary the person can keep: who, when, which key
// is which, what is done with what evidence, and what is left.
func (w *Wizard) Summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.snapshotLocked()
	var b strings.Builder
	b.WriteString("# Your security keys\n\n")
	if s.Started {
		fmt.Fprintf(&b, "%s <%s>, started %s. Deadline: %s", s.Person.Name, s.Person.Email, s.Person.StartDate.Format("2 January 2006"), s.Deadline.Format("2 January 2006"))
		switch {
		case s.Complete && w.reportReceivedLocked():
			b.WriteString(" (all done).\n\n")
		case s.Complete:
			b.WriteString(" (IT has not received your report yet).\n\n")
		case s.Overdue:
			b.WriteString(" (overdue).\n\n")
		default:
			fmt.Fprintf(&b, " (%d days left).\n\n", s.DaysLeft)
		}
	}
	b.WriteString("## Keys\n\n")
	if len(s.Keys) == 0 {
		b.WriteString("No key set up yet.\n")
	}
	for _, k := range s.Keys {
		fmt.Fprintf(&b, "- **%s**: %s%s\n", k.Role.Words(), k.Label, w.genuineSummaryLocked(k.Serial))
	}
	b.WriteString("\n## Steps\n\n")
	for _, st := range s.Steps {
		if !w.perKey(st.ID) {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n", st.Title)
		if st.Status == StatusNotApplicable {
			fmt.Fprintf(&b, "Does not apply: %s.\n\n", st.Reason)
			continue
		}
		for _, k := range st.Keys {
			switch {
			case k.Evidence != nil && k.Evidence.Level == SelfAttested:
				fmt.Fprintf(&b, "- %s: done, %s, %s (%s).\n", k.Label, k.Evidence.Level.Words(), k.Evidence.At.Format("2006-01-02 15:04 MST"), k.Evidence.Detail)
			case k.Evidence != nil:
				fmt.Fprintf(&b, "- %s: done, %s, %s (%s); last checked %s.\n", k.Label, k.Evidence.Level.Words(), k.Evidence.At.Format("2006-01-02 15:04 MST"), k.Evidence.Detail,
					k.Evidence.Checked().Format("2006-01-02 15:04 MST"))
			case k.Lost != "":
				fmt.Fprintf(&b, "- %s: not done: %s.\n", k.Label, k.Lost)
			default:
				fmt.Fprintf(&b, "- %s: not done yet.\n", k.Label)
			}
		}
		b.WriteString("\n")
	}
	for i, l := range w.p.Losses {
		if i == 0 {
			b.WriteString("## Lost keys\n\n")
		}
		_, told := lossTold(l)
		fmt.Fprintf(&b, "### %s\n\nReported lost %s. %s\n\n", lostLabel(l), l.ReportedAt.Format("2006-01-02 15:04 MST"), told)
		for _, it := range w.removalItemsLocked(l) {
			switch {
			case it.Evidence != nil:
				fmt.Fprintf(&b, "- %s: removed, %s, %s (%s).\n", it.Name, it.Evidence.Level.Words(), it.Evidence.At.Format("2006-01-02 15:04 MST"), it.Evidence.Detail)
			case it.NotApplicable != "":
				fmt.Fprintf(&b, "- %s: nothing to remove: %s.\n", it.Name, it.NotApplicable)
			default:
				fmt.Fprintf(&b, "- %s: not removed yet.\n", it.Name)
			}
		}
		if _, ok := w.p.keyByRole(l.Role); ok {
			fmt.Fprintf(&b, "- Replaced: a new key has the %s role.\n", l.Role)
		} else {
			fmt.Fprintf(&b, "- Not replaced yet: give a new key the %s role in Your keys.\n", l.Role)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Report to IT\n\n")
	switch r := w.p.Report; {
	case r.Pending:
		b.WriteString("Waiting to send: IT's tracker has not answered yet; keywizard sends it when it does.\n")
	case r.Local:
		b.WriteString("Not sent: IT has not received this. Connect this computer to IT's tracker with the invite code IT sent you (Tell IT), then send it.\n")
	case !r.SentAt.IsZero():
		fmt.Fprintf(&b, "Sent %s (%s).\n", r.SentAt.Format("2006-01-02 15:04 MST"), r.Destination)
	default:
		b.WriteString("Not sent yet.\n")
	}
	b.WriteString("\n## What is left\n\n")
	if len(s.Remaining) == 0 && w.reportReceivedLocked() {
		b.WriteString("Nothing: you are done. Keep your backup key somewhere safe, apart from your laptop.\n")
	}
	for _, r := range s.Remaining {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	b.WriteString("\nIf you lose a key, choose \"I lost a key\" in keywizard (Your keys, or here): it tells IT at once and lists every service to remove it from with your other key.\n")
	return b.String()
}
