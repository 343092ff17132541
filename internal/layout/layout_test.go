package layout

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Name       string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-tags", "migrated_fynedo", "-json=ImportPath,Name,Deps", Module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func matches(rel, from string) bool {
	if sub, ok := strings.CutSuffix(from, "/..."); ok {
		return rel == sub || strings.HasPrefix(rel, sub+"/")
	}
	return rel == from
}

func forbidden(dep, f string) bool {
	if !strings.Contains(strings.SplitN(f, "/", 2)[0], ".") { // project-relative
		f = Module + "/" + f
	}
	if strings.HasSuffix(f, "/") {
		return strings.HasPrefix(dep, f)
	}
	return dep == f || strings.HasPrefix(dep, f+"/")
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d packages; the test is not looking at the module", len(pkgs))
	}
	checked := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, Module), "/")
		for _, r := range Rules {
			if !matches(rel, r.From) {
				continue
			}
			checked[r.From] = true
			for _, d := range p.Deps {
				for _, f := range r.Forbidden {
					// A package may import its own subtree (device/... rules
					// forbid other layers, not device/apdu from device/mgmt).
					if forbidden(d, f) && !strings.HasPrefix(d, p.ImportPath+"/") {
						t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.Why)
					}
				}
			}
		}
	}
	for _, r := range Rules {
		if !checked[r.From] && !strings.HasSuffix(r.From, "/...") {
			t.Errorf("rule for %s matched no package", r.From)
		}
	}
}

func TestOnlyCommandsCreateTheApp(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Name == "main" {
			continue // commands (cmd/keywizard and the benchmark/screenshot tools) wire the app
		}
		for _, d := range p.Deps {
			if d == "fyne.io/fyne/v2/app" {
				t.Errorf("%s imports fyne.io/fyne/v2/app; only cmd/... may create the Fyne app", p.ImportPath)
			}
		}
	}
}

func TestRuleMatching(t *testing.T) {
	if !forbidden(Module+"/device/pcsc", "device/") || forbidden(Module+"/device", "device/") {
		t.Fatal(`"device/" must match subpackages only`)
	}
	if !forbidden("fyne.io/fyne/v2/app", "fyne.io/fyne/v2/app") || forbidden("fyne.io/fyne/v2/apps", "fyne.io/fyne/v2/app") {
		t.Fatal("exact rules must match the package and its subtree only")
	}
	if !matches("device/apdu", "device/...") || matches("devices", "device/...") {
		t.Fatal("subtree matching wrong")
	}
}
