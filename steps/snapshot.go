package steps

import (
	"fmt"
	"slices"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// StepID names a step: one of the fixed steps below, or a service ID from
// the catalogue.
type StepID string

// The wizard's own steps; services sit between StepFIDOPIN and StepOTP.
const (
	StepWelcome StepID = "welcome"
	StepKeys    StepID = "keys"
	// StepLost is the removal checklist of a key reported lost; it is in
	// the list only once a key was (Wizard.ReportLost).
	StepLost    StepID = "lost"
	StepFIDOPIN StepID = "fido-pin"
	StepOTP     StepID = "otp"
	StepReport  StepID = "report"
	StepSummary StepID = "summary"
)

// Status is a step's (or a step's key's) state.
type Status string

// Statuses.
const (
	StatusTodo           Status = "todo"
	StatusCurrent        Status = "current"
	StatusDone           Status = "done"
	StatusNotApplicable  Status = "not-applicable"
	StatusNeedsAttention Status = "needs-attention"
)

// Kind says what sort of step a Step is, so a frontend can pick its view.
type Kind string

// Step kinds.
const (
	KindWelcome Kind = "welcome"
	KindKeys    Kind = "keys"
	KindLost    Kind = "lost" // a lost key's removal checklist
	KindFIDOPIN Kind = "fido-pin"
	KindService Kind = "service" // a catalogue service registered in the browser
	KindMacOS   Kind = "macos"   // a catalogue service of kind sc-auth
	KindOTP     Kind = "otp"
	KindReport  Kind = "report"
	KindSummary Kind = "summary"
)

// Snapshot is the wizard's state at one moment. It is a deep copy: a
// frontend may keep it and read it from any goroutine.
type Snapshot struct {
	// Seq increases with every published snapshot.
	Seq uint64
	// Started is false until the person has said who they are.
	Started bool
	Person  Person
	// Deadline is the start date + 30 days; Overdue once it has passed and
	// the wizard is not complete. DaysLeft is negative when overdue.
	Deadline time.Time
	DaysLeft int
	Overdue  bool
	Current  StepID
	Steps    []Step
	// Keys are the person's keys (by role, everyday first).
	Keys []KeyView
	// Detected are all keys plugged in now, with a suggested role.
	Detected []KeyView
	// Unknown are plugged-in keys that are not the person's and were not
	// ignored (see Wizard.IgnoreKey).
	Unknown []KeyView
	// Messages are standing notes for the person (a missing backup key, an
	// unknown key plugged in).
	Messages []string
	Complete bool
	// Remaining lists what is left, in plain words.
	Remaining []string
	// Busy names the action in progress, "" when idle.
	Busy string
	// Tracker says where reports go (see Wizard.Join).
	Tracker TrackerState
}

// Step is one step of the wizard.
type Step struct {
	ID     StepID
	Kind   Kind
	Title  string
	Status Status
	// Reason explains NotApplicable and NeedsAttention (and, for a sent
	// report, where it went).
	Reason string
	// Service is set for KindService and KindMacOS.
	Service *catalogue.Service
	// Keys is the per-key state for steps done on each key.
	Keys []StepKey
	// What the frontend may offer: open the page, verify from the key or
	// system, self-attest.
	CanOpen, CanVerify, CanAttest bool
	// Action is what finishes the step (on each key, for per-key steps).
	Action Action
	// NeedAccount is set when verifying needs an account name the person
	// has not given yet (Service.AccountLabel says which; Wizard.SetAccount
	// records it).
	NeedAccount bool
	// Loss is set for KindLost: the lost key and its removal checklist.
	Loss *LossView
}

// LossView is a lost key as the person sees it: what it was, whether the
// tracker was told, and one removal item per catalogue service.
type LossView struct {
	Serial     uint32
	Model      string
	Role       Role
	Label      string
	ReportedAt time.Time
	// Told is whether IT's tracker has the loss; TrackerText says so in
	// plain words (never "Sent" before the tracker answered).
	Told        TrackerTold
	TrackerText string
	Items       []RemovalItem
	// Replaced is set once a new key has the lost key's role.
	Replaced bool
}

// TrackerTold is where a loss report stands.
type TrackerTold string

// Loss report states.
const (
	ToldSent    TrackerTold = "sent"     // the tracker answered
	ToldWaiting TrackerTold = "waiting"  // queued; sent when the tracker answers
	ToldNotSent TrackerTold = "not-sent" // no tracker configured: IT has nothing
	ToldRefused TrackerTold = "refused"  // the tracker refused it
	ToldNotYet  TrackerTold = "not-yet"  // not tried yet
)

// RemovalItem is one service of a lost key's checklist.
type RemovalItem struct {
	Service string // catalogue service ID
	Name    string
	// Removal is the catalogue's page, steps (the lost key's serial filled
	// in) and what an administrator can do instead.
	Removal catalogue.Removal
	// ByKeywizard: keywizard removes it and reads the result back (macOS
	// login: sc_auth unpair, then sc_auth list); otherwise the person
	// confirms it (a passkey cannot be checked on a key that is gone).
	ByKeywizard bool
	// Identities are the pairings to undo (ByKeywizard).
	Identities    []string
	NotApplicable string
	Evidence      *Evidence
	// Attention is the item's last problem in words; Problem is the same
	// problem as the error it was (errors.Is/As), so the window can say
	// it as a headline and a next action (ui.Explain) instead.
	Attention string
	Problem   error
	Status    Status
}

// StepKey is a step's state on one key. A role with no key yet has Serial 0
// and Missing set.
type StepKey struct {
	Serial  uint32
	Role    Role
	Label   string
	Missing bool
	// Connected says whether the key is plugged in now.
	Connected bool
	Status    Status
	Evidence  *Evidence
	OpenedAt  time.Time
	// OpenByHand is the address the person was asked to open themselves
	// because the browser failed (this run only): a frontend treats the
	// page as opened and offers the next action rather than Open again.
	OpenByHand string
	// Attention is the last problem on this key, with what to do, in the
	// program's words (Problem's text).
	Attention string
	// Problem is that problem as the error it was (errors.Is/As), so a
	// window can say it in plain words with one next action (ui.Explain).
	Problem error
	// Lost says why a result recorded earlier was taken back by a
	// re-check (the step is to do again on this key).
	Lost string
	// Presence is whether the key is plugged in, unplugged, or restarting
	// after a configuration change.
	Presence Presence
	// CanRedo says Wizard.Redo would clear something on this key: a
	// result, an opened page, a problem, or (macOS login) the smart-card
	// setup keywizard remembers, so a frontend offers Redo only then.
	CanRedo bool
}

// Presence says whether a key is there right now.
type Presence string

// Presences.
const (
	// PresencePlugged: plugged in.
	PresencePlugged Presence = "plugged-in"
	// PresenceUnplugged: gone (pulled out, or never plugged in this run).
	PresenceUnplugged Presence = "unplugged"
	// PresenceRestarting: gone while it reboots after a configuration
	// change keywizard made (turning OTP off re-enumerates the key,
	// docs/yubikey-protocol.md §1.9); it comes back by itself.
	PresenceRestarting Presence = "restarting"
)

// KeyView is a key as the person sees it.
type KeyView struct {
	// Presence is whether the key is plugged in, unplugged or restarting.
	Presence Presence
	// ReplugNeeded: the key refuses FIDO2 PINs until it is unplugged and
	// plugged back in (three wrong PINs in a row).
	ReplugNeeded bool
	Serial       uint32
	Model        string
	Role         Role // "" for keys without a role
	Label        string
	Connected    bool
	FormFactor   string
	// SuggestedRole is the role keywizard proposes for a detected key.
	SuggestedRole Role
	// PINSet and PINRetries are the key's FIDO2 PIN state as last read
	// (PINRetries -1 when not read yet).
	PINSet     bool
	PINRetries int
}

// Step returns the step with the given ID.
func (s Snapshot) Step(id StepID) (Step, bool) {
	for _, st := range s.Steps {
		if st.ID == id {
			return st, true
		}
	}
	return Step{}, false
}

// CurrentStep returns the current step.
func (s Snapshot) CurrentStep() Step {
	st, _ := s.Step(s.Current)
	return st
}

// Key returns the step's state on the key with the given serial.
func (st Step) Key(serial uint32) (StepKey, bool) {
	for _, k := range st.Keys {
		if k.Serial == serial {
			return k, true
		}
	}
	return StepKey{}, false
}

// Label is how a key is named on screen: what it is, where it lives, and
// its serial (printed on the key and shown by ykman).
func Label(role Role, model string, serial uint32) string {
	switch role {
	case RoleEveryday:
		return fmt.Sprintf("%s in your laptop · serial %d", shortModel(model), serial)
	case RoleBackup:
		return fmt.Sprintf("%s for your keyring (mobile + backup) · serial %d", shortModel(model), serial)
	}
	return fmt.Sprintf("%s · serial %d", model, serial)
}

func shortModel(model string) string {
	if model == "" {
		return "YubiKey"
	}
	return model
}

func isNano(k device.Key) bool {
	return k.Info.FormFactor == device.FormUSBCNano || k.Info.FormFactor == device.FormUSBANano
}

// suggestRoles proposes roles for detected keys: a Nano is the everyday key
// (it stays in the laptop), anything else the backup; ties go by serial.
func suggestRoles(keys []device.Key) map[uint32]Role {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b device.Key) int {
		an, bn := isNano(a), isNano(b)
		switch {
		case an && !bn:
			return -1
		case bn && !an:
			return 1
		}
		return int(int64(a.Serial) - int64(b.Serial))
	})
	out := map[uint32]Role{}
	for i, k := range sorted {
		switch {
		case i == 0 && isNano(k):
			out[k.Serial] = RoleEveryday
		case i == 0 && len(sorted) > 1:
			out[k.Serial] = RoleEveryday
		case i == 0:
			out[k.Serial] = RoleBackup
		case i == 1:
			out[k.Serial] = RoleBackup
		}
	}
	return out
}

// deadline is start + 30 days ("within your first month"), the tracker's
// OverdueAfter.
func deadline(start time.Time) time.Time { return start.Add(30 * 24 * time.Hour) }
