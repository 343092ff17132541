package team

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/ui"
)

// bigTeam is a manager with 24 reports and 5 lost keys: more than a
// 1024x768 window shows at once.
func bigTeam() tracker.TeamView {
	var people []tracker.Person
	var keys []tracker.Key
	for i := range 24 {
		p := tracker.Person{ID: fmt.Sprintf("p%02d", i), Name: fmt.Sprintf("Person %02d with a rather long name", i),
			Email: fmt.Sprintf("person.%02d.with.a.long.address@subsidiary.example.com", i), Team: "Platform Engineering",
			ManagerID: maria.ID, StartDate: now.AddDate(0, 0, -3*i).Format(time.DateOnly)}
		people = append(people, p)
		if i < 5 {
			keys = append(keys, tracker.Key{Serial: uint32(30000000 + i), PersonID: p.ID, Model: "YubiKey 5C NFC", Role: tracker.RoleBackup,
				Status: tracker.KeyLost, UpdatedAt: now.Add(-time.Duration(i) * time.Hour)})
		}
	}
	return tracker.BuildTeamView(maria, people, keys, nil, tracker.DefaultServices, now)
}

// TestLayoutInTabs renders the view as the app shows it to a manager:
// in the "My team" tab next to the wizard, at 1024x768 and in dark, with
// more people and lost keys than fit. The table scrolls under its sticky
// header; the lost keys keep to three lines.
func TestLayoutInTabs(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.NewFixedTheme(theme.VariantDark))
	w := test.NewTempWindow(t, widget.NewLabel("the wizard"))
	w.Resize(ui.DefaultSize)
	v := New(w, &fake{view: bigTeam()}, Options{})
	tabs := v.InTabs(w)
	tabs.SelectIndex(1)
	startAndWait(t, v)
	assertRenders(t, "team_tabs_dark.xml", w)

	if rows, _ := v.Table.Length(); rows != 24 {
		t.Fatalf("%d rows", rows)
	}
	if len(v.Lost.Objects) != 5 {
		t.Errorf("%d lost keys listed, want 5", len(v.Lost.Objects))
	}
	// Everything fits the window: the table keeps most of the height and
	// the lost keys list is capped.
	if h := v.lostBox.Size().Height; h <= 0 || h > 3*v.Lost.Objects[0].MinSize().Height+1 {
		t.Errorf("lost keys list is %v high", h)
	}
	if th := v.Table.Size().Height; th < 300 {
		t.Errorf("table only %v high in a 768 window", th)
	}
	if min := w.Content().MinSize(); min.Width > ui.DefaultSize.Width || min.Height > ui.DefaultSize.Height {
		t.Errorf("minimum size %v exceeds the default window %v", min, ui.DefaultSize)
	}
}

func startAndWait(t *testing.T, v *View) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); v.Wait() })
	v.Start(ctx)
	v.Wait()
}
