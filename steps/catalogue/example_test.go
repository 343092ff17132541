package catalogue_test

import (
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/steps/catalogue"
)

// An organisation drops AWS, points GitHub at its SSO page and adds Okta,
// whose passkeys keywizard can then find on the key.
func ExampleMerge() {
	org := []byte(`{
	  "schema": 1,
	  "services": [
	    {"id": "aws", "disabled": true},
	    {"id": "github", "url": "https://github.com/orgs/acme/sso"},
	    {"id": "okta", "name": "Okta", "url": "https://acme.okta.com/enduser/settings",
	     "instructions": ["Next to \"Security Key or Biometric Authenticator\", click Set up.", "Touch the key when it blinks."],
	     "verification": {"kind": "fido-credential", "rp_id": "acme.okta.com", "user": "email"}}
	  ]
	}`)
	c, err := catalogue.Merge(catalogue.Default(), "acme.json", org)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range c.Services {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-9s %-15s %s", s.ID, s.Verification.Kind, s.URL)))
	}
	// Output:
	// google    fido-credential https://myaccount.google.com/signinoptions/passkeys
	// 1password self-attest     https://start.1password.com/
	// github    fido-credential https://github.com/orgs/acme/sso
	// macos     sc-auth
	// okta      fido-credential https://acme.okta.com/enduser/settings
}
