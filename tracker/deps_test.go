package tracker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the tracker free of the GUI and hardware layers, so
// the server builds with CGO_ENABLED=0 on any machine (as tailscale's
// deptest does for its packages).
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"github.com/keywizard/keywizard/tracker", "modernc.org/", "github.com/jackc/", "github.com/spf13/",
		"github.com/zalando/go-keyring", "github.com/godbus/dbus", "github.com/danieljoos/wincred", "golang.org/x/", "github.com/dustin/go-humanize",
		"github.com/google/uuid", "github.com/mattn/go-isatty", "github.com/ncruces/go-strftime", "github.com/remyoudompheng/bigfft",
		"github.com/inconshreveable/mousetrap", "al.essio.dev/pkg/shellescape", "aead.dev/minisign",
		// SCIM 2.0 provisioning (server/scim.go) and its filter and date parsers.
		"github.com/elimity-com/scim", "github.com/scim2/filter-parser/", "github.com/q-uint/",
		// OpenID Connect sign-in (server/oidc.go): the relying party and
		// its JOSE library; both pure Go.
		"github.com/coreos/go-oidc/v3/", "github.com/go-jose/go-jose/v4"}
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
			continue // standard library
		}
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(pkg, a) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("tracker depends on %s", pkg)
		}
	}
}
