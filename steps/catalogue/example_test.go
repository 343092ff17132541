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
	for _, id := range []string{"aws", "github", "okta"} {
		s, ok := c.Service(id)
		if !ok {
			fmt.Println(id, "dropped")
			continue
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-9s %-15s %s", s.ID, s.Verification.Kind, s.URL)))
	}
	// The other default services are kept as they are; okta comes last.
	fmt.Println(c.Services[len(c.Services)-1].ID)
	// Output:
	// aws dropped
	// github    fido-credential https://github.com/orgs/acme/sso
	// okta      fido-credential https://acme.okta.com/enduser/settings
	// okta
}
