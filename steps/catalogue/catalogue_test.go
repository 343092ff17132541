package catalogue

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
)

func ids(c *Catalogue) []string {
	var out []string
	for _, s := range c.Services {
		out = append(out, s.ID)
	}
	return out
}

// frozen is the catalogue the tests merge into: a copy of the default as
// it was, so adding a service to default.json changes no test but
// TestDefault, the one test of the embedded catalogue itself.
func frozen(t testing.TB) *Catalogue {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "frozen.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("frozen.json", data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDefault is the one test of the embedded default catalogue: its
// services and the facts of docs/services.md they carry. Every other test
// (here and in other packages) uses testdata/frozen.json.
func TestDefault(t *testing.T) {
	c := Default()
	if got, want := ids(c), []string{"google", "aws", "1password", "github", "macos"}; !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	// Every service can be reported: the tracker's rule for service IDs.
	for _, s := range c.Services {
		if !tracker.ValidServiceID(s.ID) || s.ID == tracker.ServiceOTP {
			t.Errorf("service %q cannot be reported to the tracker", s.ID)
		}
	}
	g, _ := c.Service("google")
	if g.URL != "https://myaccount.google.com/signinoptions/passkeys" {
		t.Errorf("google url = %q", g.URL)
	}
	if len(g.AlternateURLs) != 1 || g.AlternateURLs[0].URL != "https://myaccount.google.com/signinoptions/two-step-verification?flow=sk&opendialog=addsk" {
		t.Errorf("google alternate = %+v", g.AlternateURLs)
	}
	if g.Verification != (Verification{Kind: KindFIDOCredential, RPID: "google.com", User: UserEmail}) || g.PasskeyHint == "" {
		t.Errorf("google verification = %+v hint %q", g.Verification, g.PasskeyHint)
	}
	gh, _ := c.Service("github")
	if gh.Verification != (Verification{Kind: KindFIDOCredential, RPID: "github.com", User: UserAccount}) || gh.AccountLabel == "" || gh.PasskeyHint == "" {
		t.Errorf("github = %+v", gh)
	}
	for _, id := range []string{"aws", "1password"} {
		s, _ := c.Service(id)
		if s.Verification.Kind != KindSelfAttest {
			t.Errorf("%s verification = %q, want self-attest (docs/services.md §3, §4)", id, s.Verification.Kind)
		}
	}
	m, _ := c.Service("macos")
	if m.Verification.Kind != KindSCAuth || !m.AppliesOn("darwin") || m.AppliesOn("linux") || m.AppliesOn("windows") {
		t.Errorf("macos = %+v", m)
	}
	if !g.AppliesOn("linux") || !g.AppliesOn("windows") {
		t.Error("google should apply everywhere")
	}
	// The caveats of docs/services.md that stop a registration are told before
	// the person meets them.
	for id, want := range map[string][]string{
		"google":    {"before May 2023"},
		"aws":       {"virtual machine", "remote-desktop", "incognito"},
		"1password": {"turn on two-factor authentication first", "administrator has to allow security keys"},
		"macos":     {"Pair", "Mac password", "smart-card PIN", "sc_auth pairing_ui"},
	} {
		s, _ := c.Service(id)
		text := strings.ToLower(strings.Join(s.Instructions, " "))
		for _, w := range want {
			if !strings.Contains(text, strings.ToLower(w)) {
				t.Errorf("%s instructions do not say %q", id, w)
			}
		}
	}
}

func TestMergeOrgCatalogue(t *testing.T) {
	org := `{
	  "schema": 1,
	  "services": [
	    {"id": "aws", "disabled": true},
	    {"id": "github", "url": "https://github.com/settings/security?org=acme"},
	    {"id": "okta", "name": "Okta", "url": "https://acme.okta.com/enduser/settings",
	     "instructions": ["Click Set up next to Security Key or Biometric Authenticator."],
	     "verification": {"kind": "fido-credential", "rp_id": "acme.okta.com", "user": "email"}},
	    {"id": "slack", "name": "Slack", "url": "https://acme.slack.com/account/settings",
	     "instructions": ["Nothing to click; Slack uses Okta."], "verification": {"kind": "self-attest"}}
	  ]
	}`
	base := frozen(t)
	c, err := Merge(base, "org.json", []byte(org))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(c), []string{"google", "1password", "github", "macos", "okta", "slack"}; !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	gh, _ := c.Service("github")
	if gh.URL != "https://github.com/settings/security?org=acme" {
		t.Errorf("github url not replaced: %q", gh.URL)
	}
	// Fields the org file did not set are kept.
	orig, _ := base.Service("github")
	if !slices.Equal(gh.Instructions, orig.Instructions) || gh.Verification != orig.Verification || gh.PasskeyHint != orig.PasskeyHint {
		t.Errorf("github fields lost: %+v", gh)
	}
	// The base is not modified.
	if _, ok := base.Service("aws"); !ok || len(base.Services) != 5 {
		t.Errorf("base modified: %v", ids(base))
	}
	ok, _ := c.Service("okta")
	if ok.Verification.RPID != "acme.okta.com" || ok.Name != "Okta" {
		t.Errorf("okta = %+v", ok)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load("")
	if err != nil || !slices.Equal(ids(c), ids(Default())) {
		t.Fatalf("Load(\"\") = %v, %v; want the default", c, err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "catalogue.json")
	if err := os.WriteFile(p, []byte(`{"schema":1,"services":[{"id":"1password","disabled":true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Service("1password"); ok {
		t.Error("1password not dropped")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	okta := func(extra string) string {
		return `{"schema":1,"services":[{"id":"okta","name":"Okta","url":"https://x.okta.com/","instructions":["a"],` + extra + `}]}`
	}
	tests := []struct {
		name, json, field, msg string
	}{
		{"not json", `{`, "", "not valid"},
		{"trailing data", `{"schema":1,"services":[]} {}`, "", "after the JSON"},
		{"no schema", `{"services":[]}`, "schema", "missing"},
		{"future schema", `{"schema":2,"services":[]}`, "schema", "is 2"},
		{"unknown field", `{"schema":1,"services":[{"id":"github","rpid":"x"}]}`, "", `unknown field "rpid"`},
		{"wrong type", `{"schema":1,"services":[{"id":"github","instructions":"x"}]}`, "services.instructions", "not valid"},
		{"bad id", `{"schema":1,"services":[{"id":"Okta"}]}`, "services[0].id", "slug"},
		{"reserved id", `{"schema":1,"services":[{"id":"otp"}]}`, "services[0].id", "own steps"},
		{"duplicate id", `{"schema":1,"services":[{"id":"github"},{"id":"github"}]}`, "services[1].id", "twice"},
		{"missing name", `{"schema":1,"services":[{"id":"okta","url":"https://x.okta.com/","instructions":["a"],"verification":{"kind":"self-attest"}}]}`, "services[0].name", "missing"},
		{"missing instructions", `{"schema":1,"services":[{"id":"okta","name":"Okta","url":"https://x.okta.com/","verification":{"kind":"self-attest"}}]}`, "services[0].instructions", "missing"},
		{"empty instruction", okta(`"verification":{"kind":"self-attest"},"instructions":[" "]`), "services[0].instructions[0]", "empty"},
		{"no kind", okta(`"verification":{}`), "services[0].verification.kind", "must be"},
		{"bad rp id", okta(`"verification":{"kind":"fido-credential","rp_id":"https://okta.com","user":"email"}`), "services[0].verification.rp_id", "domain"},
		{"bad user", okta(`"verification":{"kind":"fido-credential","rp_id":"okta.com","user":"login"}`), "services[0].verification.user", "must be"},
		{"account without label", okta(`"verification":{"kind":"fido-credential","rp_id":"okta.com","user":"account"}`), "services[0].account_label", "needed"},
		{"rp id on self-attest", okta(`"verification":{"kind":"self-attest","rp_id":"okta.com"}`), "services[0].verification", "only"},
		{"http url", `{"schema":1,"services":[{"id":"github","url":"http://github.com/settings/security"}]}`, "services[0].url", "https"},
		{"missing url", `{"schema":1,"services":[{"id":"okta","name":"Okta","instructions":["a"],"verification":{"kind":"self-attest"}}]}`, "services[0].url", "missing"},
		{"alternate without label", `{"schema":1,"services":[{"id":"github","alternate_urls":[{"url":"https://github.com/"}]}]}`, "services[0].alternate_urls[0].label", "missing"},
		{"alternate bad url", `{"schema":1,"services":[{"id":"github","alternate_urls":[{"label":"x","url":"github.com"}]}]}`, "services[0].alternate_urls[0].url", "https"},
		{"bad platform", `{"schema":1,"services":[{"id":"github","platforms":["macos"]}]}`, "services[0].platforms[0]", "darwin"},
		{"nothing left", `{"schema":1,"services":[{"id":"google","disabled":true},{"id":"aws","disabled":true},{"id":"1password","disabled":true},{"id":"github","disabled":true},{"id":"macos","disabled":true}]}`, "services", "no services"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(frozen(t), "org.json", []byte(tt.json))
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want *FieldError", err)
			}
			if fe.File != "org.json" || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got file %q field %q msg %q; want field %q msg containing %q", fe.File, fe.Field, fe.Msg, tt.field, tt.msg)
			}
			if !strings.Contains(err.Error(), "fix the file") {
				t.Errorf("message does not say what to do: %v", err)
			}
		})
	}
}

func TestParseRequiresCompleteServices(t *testing.T) {
	_, err := Parse("x.json", []byte(`{"schema":1,"services":[{"id":"github","url":"https://github.com/"}]}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "services[0].name" {
		t.Fatalf("err = %v", err)
	}
}

// FuzzMerge: any bytes give a valid catalogue or a *FieldError, never a panic.
func FuzzMerge(f *testing.F) {
	base := frozen(f)
	f.Add(defaultJSON)
	f.Add([]byte(`{"schema":1,"services":[{"id":"aws","disabled":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Merge(base, "fuzz", data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			return
		}
		if len(c.Services) == 0 {
			t.Fatal("valid catalogue with no services")
		}
	})
}

func TestOrgPaths(t *testing.T) {
	env := map[string]string{"ProgramData": `C:\ProgramData`}
	get := func(k string) string { return env[k] }
	if got := OrgPaths("linux", "/home/a/.config", get); !slices.Equal(got, []string{"/etc/keywizard/catalogue.json", "/home/a/.config/keywizard/catalogue.json"}) {
		t.Errorf("linux: %v", got)
	}
	if got := OrgPaths("darwin", "", get); !slices.Equal(got, []string{"/Library/Application Support/keywizard/catalogue.json"}) {
		t.Errorf("darwin: %v", got)
	}
	if got := OrgPaths("windows", "", get); len(got) != 1 || !strings.Contains(got[0], "ProgramData") || !strings.HasSuffix(got[0], "catalogue.json") {
		t.Errorf("windows: %v", got)
	}
	env[EnvPath] = "/tmp/x.json"
	if got := OrgPaths("linux", "", get); got[0] != "/tmp/x.json" {
		t.Errorf("env first: %v", got)
	}
}

func TestLoadFirst(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	c, p, err := LoadFirst([]string{missing})
	if err != nil || p != "" || !slices.Equal(ids(c), ids(Default())) {
		t.Fatalf("none: %v %q %v", c, p, err)
	}
	first := filepath.Join(dir, "first.json")
	second := filepath.Join(dir, "second.json")
	os.WriteFile(first, []byte(`{"schema":1,"services":[{"id":"aws","disabled":true}]}`), 0o600)
	os.WriteFile(second, []byte(`{"schema":1,"services":[{"id":"github","disabled":true}]}`), 0o600)
	c, p, err = LoadFirst([]string{missing, first, second})
	if err != nil || p != first {
		t.Fatalf("first: %q %v", p, err)
	}
	if _, ok := c.Service("aws"); ok {
		t.Error("first file not applied")
	}
	if _, ok := c.Service("github"); !ok {
		t.Error("second file applied too")
	}
	// An invalid file is an error, not a silent fallback to the default.
	os.WriteFile(first, []byte(`{"schema":1,"services":[{"id":"aws","rpid":"x"}]}`), 0o600)
	if _, p, err := LoadFirst([]string{first, second}); !errors.Is(err, ErrInvalid) || p != first {
		t.Errorf("invalid: %q %v", p, err)
	}
}
