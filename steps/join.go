package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Tracker connects this computer to the organisation's onboarding tracker
// (the wizard exchanges IT's invite code for a token kept in the OS
// keychain, package tracker/join). It is optional: without one the report step offers no way
// to connect, and the report goes wherever the Reporter sends it.
type Tracker interface {
	// Connected returns the tracker's address when this computer reports
	// to one.
	Connected() (url string, ok bool)
	// Join trades the single-use invite code from IT for this computer's
	// token at url and keeps it where the Reporter will find it. Errors
	// match ErrInviteRejected, ErrTrackerUnreachable, ErrBadTrackerURL or
	// ErrTryLater where those apply, and never carry the code.
	Join(ctx context.Context, url, code string) (JoinResult, error)
}

// JoinResult says who the tracker knows this computer's person as.
type JoinResult struct {
	URL   string
	Name  string
	Email string
}

// TrackerState is where reports go, for the report step.
type TrackerState struct {
	// Connected is true when reports go to the onboarding tracker at URL.
	Connected bool
	URL       string
	// As is who the tracker knows this computer's person as ("Name
	// <email>"), when they joined in this run.
	As string
	// CanJoin is true when the person can connect this computer with an
	// invite code from IT.
	CanJoin bool
}

// Errors of Join. Messages are for people and say what to do.
var (
	// ErrNoInviteCode: the code field is empty.
	ErrNoInviteCode = errors.New("type or paste the invite code IT sent you")
	// ErrInviteRejected: the tracker did not accept the code.
	ErrInviteRejected = errors.New("IT's tracker did not accept this invite code: it is unknown, already used or expired; ask IT for a new one")
	// ErrTrackerUnreachable: no answer from the tracker.
	ErrTrackerUnreachable = errors.New("cannot reach IT's tracker; check the network (VPN?) and the address, then try again with the same code")
	// ErrBadTrackerURL: the address is not a tracker's.
	ErrBadTrackerURL = errors.New("that is not the tracker's address; type it as IT gave it, like https://tracker.example.com")
	// ErrTryLater: the tracker is limiting attempts from this network.
	ErrTryLater = errors.New("IT's tracker refused: too many attempts from this network; wait a minute and try again")
)

// Join connects this computer to the onboarding tracker at url with the
// invite code from IT. The code is passed on and dropped: it is never saved
// or shown. A report kept on this computer before is then due again, to go
// to the tracker.
func (w *Wizard) Join(ctx context.Context, url, code string) error {
	if w.o.Tracker == nil {
		return fmt.Errorf("connecting to a tracker: %w", ErrNotApplicable)
	}
	url, code = strings.TrimSpace(url), strings.TrimSpace(code)
	switch {
	case url == "":
		return ErrBadTrackerURL
	case code == "":
		return ErrNoInviteCode
	}
	defer w.begin("Connecting to IT's tracker")()
	res, err := w.o.Tracker.Join(ctx, url, code)
	if err != nil {
		return fmt.Errorf("connecting to the tracker: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	who := res.Name
	if res.Email != "" {
		who = strings.TrimSpace(who + " <" + res.Email + ">")
	}
	w.tracker = TrackerState{Connected: true, URL: res.URL, As: who, CanJoin: true}
	return nil
}

// initTracker reads where reports go when the wizard starts; Join
// refreshes it.
func (w *Wizard) initTracker() {
	if w.o.Tracker == nil {
		return
	}
	url, ok := w.o.Tracker.Connected()
	w.tracker = TrackerState{Connected: ok, URL: url, CanJoin: true}
}
