package team

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// Messages for the states without a table. Each says what is shown
// (nothing: a stale table could hide that someone became overdue) and what
// to do next.
const (
	msgNotManager  = "You are not a manager of anyone in the tracker."
	msgNobody      = "Nobody is registered in the tracker yet."
	msgUnreachable = "Tracker unreachable: showing nothing; check the network and press Refresh."
	msgNoToken     = "This computer has not joined the tracker: showing nothing; run “keywizard tracker join --url <tracker>” with the invite code from IT."
	msgTokenGone   = "The tracker no longer accepts this computer: showing nothing; ask IT for a new invite code and run “keywizard tracker join” again."
	msgForbidden   = "The tracker does not let you see this team: showing nothing; ask IT whether you should be its manager."
	msgBusy        = "The tracker is busy: showing nothing; wait a minute and press Refresh."
	msgLoading     = "Loading your team from the tracker…"
)

// emptyMessage is what an empty view says: a manager with nobody below
// them, or (for IT, who see everyone) an empty tracker.
func emptyMessage(v tracker.TeamView) string {
	if v.Manager.ID == "" {
		return msgNobody
	}
	return msgNotManager
}

// explain turns a Source error into the sentence shown instead of the
// table, by the tracker client's typed errors (never by their text).
func explain(err error) string {
	var ae *client.APIError
	switch {
	case errors.Is(err, client.ErrNoToken):
		return msgNoToken
	case errors.Is(err, client.ErrUnauthorized):
		return msgTokenGone
	case errors.As(err, &ae):
		switch {
		case ae.Status == http.StatusForbidden:
			return msgForbidden
		case ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable:
			return msgBusy
		case ae.Status >= 500:
			return fmt.Sprintf("The tracker failed (HTTP %d): showing nothing; press Refresh in a few minutes, and tell IT if it keeps failing.", ae.Status)
		}
		// Any other 4xx means this app and the tracker disagree about the
		// API: nothing the manager can fix by retrying.
		return fmt.Sprintf("The tracker refused the request (HTTP %d): showing nothing; tell IT (this app may need an update).", ae.Status)
	case errors.Is(err, context.Canceled):
		return ""
	}
	// Everything else (DNS, refused connection, timeout, a proxy's HTML
	// page that is not JSON) looks the same to a manager.
	return msgUnreachable
}
