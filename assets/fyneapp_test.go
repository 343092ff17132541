package assets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"
)

// fyneApp mirrors the FyneApp.toml fields keywizard relies on (fyne's
// internal/metadata/data.go, FyneApp; docs/design.md §5.1).
type fyneApp struct {
	Website string
	Details struct {
		Icon, Name, ID, Version string
		Build                   int
	}
	Migrations  map[string]bool
	LinuxAndBSD struct {
		GenericName string
		Categories  []string
		Comment     string
		Keywords    []string
	}
}

// TestFyneAppTOML checks the packaging metadata at the repository root is
// complete and points at this package's icon, so `make package` cannot ship
// a nameless or iconless bundle.
func TestFyneAppTOML(t *testing.T) {
	var m fyneApp
	md, err := toml.DecodeFile(filepath.Join("..", "FyneApp.toml"), &m)
	if err != nil {
		t.Fatalf("FyneApp.toml: %v", err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("FyneApp.toml has keys fyne does not know here: %v", u)
	}
	for field, v := range map[string]string{
		"Website": m.Website, "Details.Name": m.Details.Name, "Details.ID": m.Details.ID,
		"Details.Version": m.Details.Version, "LinuxAndBSD.GenericName": m.LinuxAndBSD.GenericName,
		"LinuxAndBSD.Comment": m.LinuxAndBSD.Comment,
	} {
		if v == "" {
			t.Errorf("FyneApp.toml: %s is empty", field)
		}
	}
	if m.Details.Build < 1 {
		t.Errorf("Details.Build = %d, want >= 1", m.Details.Build)
	}
	if !m.Migrations["fyneDo"] {
		t.Error("Migrations.fyneDo must be true: the UI updates widgets only through fyne.Do")
	}
	if len(m.LinuxAndBSD.Categories) == 0 || len(m.LinuxAndBSD.Keywords) == 0 {
		t.Error("LinuxAndBSD.Categories and Keywords must not be empty")
	}
	icon, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(m.Details.Icon)))
	if err != nil {
		t.Fatalf("Details.Icon: %v", err)
	}
	if !bytes.Equal(icon, Icon().Content()) {
		t.Errorf("Details.Icon %s is not the icon bundled by this package", m.Details.Icon)
	}
}
