package server

import (
	"fmt"
	"net/http"

	"github.com/keywizard/keywizard/tracker"
)

// SCIM reads, audited like the API's listings (auditRead): an identity
// provider's token reads the whole roster, and who read it is part of the
// record an auditor relies on (docs/tracker-scim.md).
const (
	actSCIMRead = "scim.read"
	actSCIMList = "scim.list"
)

// auditSCIMRead records that the provisioning token behind r read the
// roster. The detail never holds the filter itself: identity providers
// filter by userName, an e-mail address, and the audit log keeps no
// personal data (tracker.AuditEntry). A read that cannot be recorded is not
// served.
func (u scimUsers) auditSCIMRead(r *http.Request, action, subject, detail string) error {
	return u.s.cfg.Store.AppendAudit(r.Context(), tracker.AuditEntry{At: u.s.cfg.Now(), Actor: scimActor(r), Action: action, Subject: subject, Detail: detail})
}

// scimListDetail says what a list read returned, without its filter.
func scimListDetail(filtered bool, matched, returned int) string {
	if filtered {
		return fmt.Sprintf("SCIM Users, filtered: %d matched, %d returned", matched, returned)
	}
	return fmt.Sprintf("SCIM Users: %d people, %d returned", matched, returned)
}
