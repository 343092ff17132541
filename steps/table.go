package steps

import (
	"fmt"

	"github.com/keywizard/keywizard/steps/catalogue"
)

// Action names what finishes a step on a key (or, for steps that are not
// per key, the step itself): the Wizard methods a frontend or a test calls.
// The table below gives each step its Action; stepstest.Complete is the one
// place tests turn an Action into calls.
type Action string

// Actions.
const (
	// ActionNone: nothing finishes the step (the summary is read, not done).
	ActionNone Action = ""
	// ActionStart: Wizard.Start with who the person is.
	ActionStart Action = "start"
	// ActionAssignRoles: Wizard.DetectKeys, then Wizard.AssignRoles.
	ActionAssignRoles Action = "assign-roles"
	// ActionSetPIN: Wizard.SetPIN on the key.
	ActionSetPIN Action = "set-pin"
	// ActionVerifyPasskey: Wizard.OpenService, the person makes a passkey
	// on the service's page, then Wizard.Verify reads it from the key.
	ActionVerifyPasskey Action = "verify-passkey"
	// ActionAttest: Wizard.OpenService, the person registers the key,
	// then Wizard.Attest records their word for it.
	ActionAttest Action = "attest"
	// ActionProvisionMac: Wizard.ProvisionMac sets the key up for macOS
	// login, pairs it and checks the pairing.
	ActionProvisionMac Action = "provision-mac"
	// ActionDisableOTP: Wizard.DisableOTP on the key.
	ActionDisableOTP Action = "disable-otp"
	// ActionReport: Wizard.Report.
	ActionReport Action = "report"
	// ActionRemoveLost: each item of a lost key's checklist, by
	// Wizard.UnpairLost where keywizard removes it itself (macOS login),
	// else Wizard.OpenRemoval and Wizard.ConfirmRemoved.
	ActionRemoveLost Action = "remove-lost"
)

// ReportAs says how a step's results reach the tracker's report.
type ReportAs string

// Ways a step is reported.
const (
	// ReportAsNothing: the step is not in the report (the FIDO2 PIN is a
	// precondition of every passkey, not a service IT tracks).
	ReportAsNothing ReportAs = ""
	// ReportAsService: one ReportItem per key named by the service's ID, or
	// a ReportSkip when the service does not apply here.
	ReportAsService ReportAs = "service"
	// ReportAsOTP: the "otp" ReportItem and ReportKey.OTPDisabled.
	ReportAsOTP ReportAs = "otp"
)

// needs is what a step needs before it can be reached.
type needs int

const (
	needsNothing needs = iota
	needsPerson
	needsKeys
)

// stepDef defines one wizard step, or for catalogue services one kind of
// step standing for every service it selects. Everything the wizard knows
// about a step reads from here: the step list and its order, titles, per
// key or not, status, what is left, the report, and the action that
// finishes it. Adding a step is one entry (and, for a new Kind, one screen
// in ui).
type stepDef struct {
	// id is the step's ID; empty for the rows that stand for catalogue
	// services (their IDs are the services').
	id StepID
	// services selects the catalogue services of a service row.
	services func(catalogue.Service) bool
	kind     Kind
	// title is shown in the side list and as the heading; services use
	// their name.
	title string
	// perKey steps are done on each key and carry StepKey entries.
	perKey bool
	// needs is the prerequisite to reach the step.
	needs needs
	// wrapUp steps come after the work: they do not count towards
	// Snapshot.Complete.
	wrapUp bool
	report ReportAs
	// action finishes the step; services get theirs from the catalogue.
	action func(*catalogue.Service) Action
	// status derives the step's status and reason; nil means from the
	// evidence on each key (perKeyStatus).
	status func(w *Wizard, id StepID) (Status, string)
	// remaining says what is left while the step is not done; nil means
	// one line per key not done.
	remaining func(w *Wizard, st Step) []string
	// shown, when set, says whether the step is in this wizard's list now
	// (the lost-key checklist appears once a key is reported lost).
	shown func(p *Progress) bool
}

func fixed(a Action) func(*catalogue.Service) Action {
	return func(*catalogue.Service) Action { return a }
}

// stepTable is every step in order: fixed steps around the catalogue's
// services, in the catalogue's order, with the services the wizard sets up
// itself (macOS smart-card login) after the browser ones, so the browser
// work is done in one go.
var stepTable = []stepDef{
	{id: StepWelcome, kind: KindWelcome, title: "Welcome", needs: needsNothing, action: fixed(ActionStart),
		status: welcomeStatus, remaining: constRemaining("Tell keywizard who you are.")},
	{id: StepKeys, kind: KindKeys, title: "Your keys", needs: needsPerson, action: fixed(ActionAssignRoles),
		status: keysStatus, remaining: keysRemaining},
	{id: StepLost, kind: KindLost, title: "Lost key", needs: needsPerson, action: fixed(ActionRemoveLost),
		status: lostStatus, remaining: lostRemaining, shown: hasLoss},
	{id: StepFIDOPIN, kind: KindFIDOPIN, title: "FIDO2 PIN", perKey: true, needs: needsKeys, action: fixed(ActionSetPIN)},
	{services: isBrowserService, kind: KindService, perKey: true, needs: needsKeys, report: ReportAsService,
		action: serviceAction, status: serviceStatus},
	{services: isSmartCardService, kind: KindMacOS, perKey: true, needs: needsKeys, report: ReportAsService,
		action: serviceAction, status: serviceStatus},
	{id: StepOTP, kind: KindOTP, title: "Stop accidental codes (turn off OTP)", perKey: true, needs: needsKeys,
		report: ReportAsOTP, action: fixed(ActionDisableOTP)},
	{id: StepReport, kind: KindReport, title: "Tell IT", needs: needsKeys, wrapUp: true, action: fixed(ActionReport),
		status: reportStatus, remaining: reportRemaining},
	{id: StepSummary, kind: KindSummary, title: "Summary", needs: needsKeys, wrapUp: true, action: fixed(ActionNone),
		status: plainStatus, remaining: constRemaining()},
}

func isSmartCardService(s catalogue.Service) bool { return s.Verification.Kind == catalogue.KindSCAuth }
func isBrowserService(s catalogue.Service) bool   { return !isSmartCardService(s) }

func serviceAction(s *catalogue.Service) Action {
	switch s.Verification.Kind {
	case catalogue.KindFIDOCredential:
		return ActionVerifyPasskey
	case catalogue.KindSCAuth:
		return ActionProvisionMac
	}
	return ActionAttest
}

func constRemaining(lines ...string) func(*Wizard, Step) []string {
	return func(*Wizard, Step) []string { return lines }
}

// stepEntry is one step of this wizard: its definition, ID and (for a
// service) the catalogue entry.
type stepEntry struct {
	def *stepDef
	id  StepID
	svc *catalogue.Service
}

// steps lists this wizard's steps in order, from the table and the
// catalogue.
func (w *Wizard) steps() []stepEntry {
	var out []stepEntry
	for i := range stepTable {
		d := &stepTable[i]
		if d.shown != nil && !d.shown(w.p) {
			continue
		}
		if d.services == nil {
			out = append(out, stepEntry{def: d, id: d.id})
			continue
		}
		for j := range w.o.Catalogue.Services {
			s := &w.o.Catalogue.Services[j]
			if d.services(*s) {
				out = append(out, stepEntry{def: d, id: StepID(s.ID), svc: s})
			}
		}
	}
	return out
}

// entry returns the step with the given ID.
func (w *Wizard) entry(id StepID) (stepEntry, bool) {
	for _, e := range w.steps() {
		if e.id == id {
			return e, true
		}
	}
	return stepEntry{}, false
}

// stepIDs is the ordered step list.
func (w *Wizard) stepIDs() []StepID {
	es := w.steps()
	ids := make([]StepID, len(es))
	for i, e := range es {
		ids[i] = e.id
	}
	return ids
}

func (w *Wizard) hasStep(id StepID) bool { _, ok := w.entry(id); return ok }

// perKey reports whether a step is done on each key.
func (w *Wizard) perKey(id StepID) bool {
	e, ok := w.entry(id)
	return ok && e.def.perKey
}

// title is a step's title.
func (e stepEntry) title() string {
	if e.svc != nil {
		return e.svc.Name
	}
	return e.def.title
}

func (e stepEntry) action() Action { return e.def.action(e.svc) }

// --- how each step's status is derived -----------------------------------

// plainStatus: a note, else current or to do.
func plainStatus(w *Wizard, id StepID) (Status, string) {
	if note := w.stepNote[id]; note != "" {
		return StatusNeedsAttention, note
	}
	if w.p.Current == id {
		return StatusCurrent, ""
	}
	return StatusTodo, ""
}

func welcomeStatus(w *Wizard, id StepID) (Status, string) {
	if w.p.Person != nil {
		return StatusDone, ""
	}
	return plainStatus(w, id)
}

func keysStatus(w *Wizard, id StepID) (Status, string) {
	p := w.p
	if note := w.stepNote[id]; note != "" {
		return StatusNeedsAttention, note
	}
	switch len(p.Keys) {
	case 0:
		if l := p.lastLoss(); l != nil {
			return StatusNeedsAttention, "Both keys were reported lost. Plug in the new keys IT gives you and give them their roles."
		}
		return plainStatus(w, id)
	case 1:
		missing := RoleBackup
		if p.Keys[0].Role == RoleBackup {
			missing = RoleEveryday
		}
		if l := p.lastLoss(); l != nil && l.Role == missing {
			return StatusNeedsAttention, fmt.Sprintf("Your %s (serial %d) was reported lost. Plug in its replacement and give it the %s role; its steps run as for a new key, and your %s keeps everything.",
				missing.Words(), l.Serial, missing, p.Keys[0].Role.Words())
		}
		return StatusNeedsAttention, fmt.Sprintf("Only one key is set up. Plug in your %s when you have it and give it its role; its steps wait until then.", missing.Words())
	}
	return StatusDone, ""
}

func reportStatus(w *Wizard, id StepID) (Status, string) {
	r := w.p.Report
	switch {
	case r.Pending:
		return StatusNeedsAttention, "Waiting to send: your report is saved on this computer and goes to IT's tracker when the network is back and the tracker answers."
	case r.Local && w.tracker.Connected:
		st, _ := plainStatus(w, id)
		return st, "Not sent: IT has not received this. This computer is now connected to IT's tracker; send your report there."
	case r.Local && w.tracker.CanJoin:
		st, _ := plainStatus(w, id)
		return st, "Not sent: IT has not received this. It is kept on this computer only. Connect to IT's tracker with the invite code IT sent you (below), then send it."
	case r.Local:
		st, _ := plainStatus(w, id)
		return st, "Not sent: IT has not received this. It is kept on this computer only (" + r.Destination + "). Ask IT how to connect keywizard to their tracker."
	case !r.SentAt.IsZero() && !w.newerThanReportLocked():
		done := "Sent " + r.SentAt.Format("2006-01-02 15:04 MST") + " (" + r.Destination + "); IT's tracker accepted it."
		if g := w.genuineText(); g != "" {
			done += " " + g
		}
		return StatusDone, done
	case !r.SentAt.IsZero():
		st, _ := plainStatus(w, id)
		return st, "There is progress since the last report; send it again."
	}
	return plainStatus(w, id)
}

// serviceStatus: not applicable here with the reason, else from the keys.
func serviceStatus(w *Wizard, id StepID) (Status, string) {
	if s, ok := w.service(id); ok {
		if why := w.notApplicable(s); why != "" {
			return StatusNotApplicable, why
		}
	}
	return perKeyStatus(w, id)
}

// perKeyStatus: done when both keys have evidence; a problem on a key
// needs attention; one key done with the other missing says so.
func perKeyStatus(w *Wizard, id StepID) (Status, string) {
	p := w.p
	if len(p.Keys) == 0 {
		return plainStatus(w, id)
	}
	done := 0
	for _, k := range p.Keys {
		if err := w.attention[id][k.Serial]; err != nil {
			return StatusNeedsAttention, err.Error()
		}
		if p.evidence(id, k.Serial) != nil {
			done++
		}
	}
	if done == len(p.Keys) {
		if len(p.Keys) == 2 {
			return StatusDone, ""
		}
		return StatusNeedsAttention, fmt.Sprintf("Done for %s. Plug in your other key when you have it to do it there too.", Label(p.Keys[0].Role, p.Keys[0].Model, p.Keys[0].Serial))
	}
	return plainStatus(w, id)
}

// --- what is left -----------------------------------------------------------

func keysRemaining(w *Wizard, st Step) []string {
	if len(w.p.Keys) == 0 {
		return []string{"Give your keys their roles."}
	}
	return []string{st.Reason}
}

func reportRemaining(w *Wizard, _ Step) []string {
	switch {
	case w.p.Report.Pending:
		return []string{"Send the report to IT (waiting to send: it goes when IT's tracker answers)."}
	case w.p.Report.Local:
		return []string{"Send the report to IT (not sent: IT has not received it)."}
	}
	return []string{"Send the report to IT."}
}

// perKeyRemaining: one line per key the step is not done on.
func perKeyRemaining(st Step) []string {
	var out []string
	for _, k := range st.Keys {
		switch {
		case k.Status == StatusDone:
		case k.Lost != "":
			out = append(out, fmt.Sprintf("%s: %s (%s).", st.Title, k.Label, k.Lost))
		default:
			out = append(out, fmt.Sprintf("%s: %s.", st.Title, k.Label))
		}
	}
	if len(st.Keys) == 0 {
		out = append(out, st.Title+".")
	}
	return out
}
