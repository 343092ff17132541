package layout

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureListsEveryPackage fails naming each package of the module
// (from `go list`) that ARCHITECTURE.md does not mention by its path, so a
// new or moved package cannot be left out of the one-page map.
func TestArchitectureListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../../ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := listPackages(t)
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d packages; the test is not looking at the module", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, Module), "/")
		if rel == "" {
			rel = Module
		}
		if !mentions(string(doc), rel) {
			t.Errorf("ARCHITECTURE.md does not mention package %s", rel)
		}
	}
}

// mentions reports whether doc names path as a whole path: not as part of a
// longer one (device/fido does not count for device/fido/libfido2, nor
// cmd/keywizard for cmd/keywizard-gui).
func mentions(doc, path string) bool {
	re := regexp.MustCompile(`(^|[^\w./-])` + regexp.QuoteMeta(path) + `($|[^\w/-]|\.[^\w])`)
	return re.MatchString(doc)
}

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		doc, path string
		want      bool
	}{
		{"| `device/fido` | x", "device/fido", true},
		{"─► device/fido/libfido2 (go-libfido2)", "device/fido", false},
		{"─► device/fido/libfido2 (go-libfido2)", "device/fido/libfido2", true},
		{"cmd/keywizard-gui ─┬─►", "cmd/keywizard", false},
		{"ends with tracker/cli.", "tracker/cli", true},
		{"see mydevice/fido", "device/fido", false},
	} {
		if got := mentions(c.doc, c.path); got != c.want {
			t.Errorf("mentions(%q, %q) = %v, want %v", c.doc, c.path, got, c.want)
		}
	}
}
