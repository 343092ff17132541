package team

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
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
	return tracker.BuildTeamView(maria, people, keys, nil, testServices, now)
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

// TestOverdueTintContrast checks that the overdue rows' tint keeps text
// readable in both variants: WCAG AA 4.5:1 for text (names, e-mails, the
// red "Overdue"), 3:1 for the icons (the quietest is the "no key" dash).
func TestOverdueTintContrast(t *testing.T) {
	for _, variant := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		a := test.NewTempApp(t)
		th := ui.NewFixedTheme(variant)
		a.Settings().SetTheme(th)
		bg := toNRGBA(th.Color(theme.ColorNameBackground, variant))
		tint := toNRGBA(rowColour(tracker.Row{Overdue: true}))
		if tint.A == 0 {
			t.Fatal("overdue rows are not tinted")
		}
		// The tint drawn over the background.
		mix := func(b, f uint8) uint8 { return uint8((int(b)*(255-int(tint.A)) + int(f)*int(tint.A)) / 255) }
		onto := color.NRGBA{R: mix(bg.R, tint.R), G: mix(bg.G, tint.G), B: mix(bg.B, tint.B), A: 0xFF}
		for _, c := range []struct {
			name fyne.ThemeColorName
			min  float64
		}{
			{theme.ColorNameForeground, 4.5},
			{theme.ColorNameError, 4.5},
			{theme.ColorNameSuccess, 3},
			{theme.ColorNameWarning, 3},
			{theme.ColorNamePrimary, 3},
			{theme.ColorNamePlaceHolder, 3},
		} {
			if r := contrast(toNRGBA(th.Color(c.name, variant)), onto); r < c.min {
				t.Errorf("variant %d: %s on the overdue tint has contrast %.2f, want >= %.1f", variant, c.name, r, c.min)
			}
		}
	}
}

func toNRGBA(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

// contrast is the WCAG 2 contrast ratio of two opaque colours.
func contrast(a, b color.NRGBA) float64 {
	lum := func(c color.NRGBA) float64 {
		ch := func(v uint8) float64 {
			f := float64(v) / 255
			if f <= 0.04045 {
				return f / 12.92
			}
			return math.Pow((f+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TestKeyboardDetails opens a person's details without a mouse: focus the
// table, move down to the second row, press space.
func TestKeyboardDetails(t *testing.T) {
	v, w := open(t, &fake{view: fiveTeam()})
	w.Canvas().Focus(v.Table)
	v.Table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	v.Table.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if v.Detail == nil || !strings.HasPrefix(v.Detail.Text, "eve@example.com") {
		t.Fatalf("details after keyboard selection: %v", v.Detail)
	}
	if len(w.Canvas().Overlays().List()) != 1 {
		t.Error("no dialog shown")
	}
}

// TestStatusFitsColumn measures the longest status lines in the theme's
// fonts: they must fit the Status column without an ellipsis.
func TestStatusFitsColumn(t *testing.T) {
	test.NewTempApp(t).Settings().SetTheme(ui.NewFixedTheme(theme.VariantLight))
	pad := 2 * theme.InnerPadding()
	for _, s := range []string{"In progress", "Not started", "Complete", "Overdue"} {
		if w := fyne.MeasureText(s, theme.TextSize(), fyne.TextStyle{Bold: true}).Width + pad; w > statusWidth {
			t.Errorf("%q needs %v, column is %v", s, w, statusWidth)
		}
	}
	caption := theme.Size(theme.SizeNameCaptionText)
	for _, s := range []string{"day 365", "day 29 of 30", "starts in 100 days", "starts tomorrow"} {
		if w := fyne.MeasureText(s, caption, fyne.TextStyle{}).Width + pad; w > statusWidth {
			t.Errorf("%q needs %v, column is %v", s, w, statusWidth)
		}
	}
	for _, s := range []string{"1Password", "OTP off", "Genuine"} {
		if w := fyne.MeasureText(s, theme.TextSize(), fyne.TextStyle{Bold: true}).Width + pad; w > markWidth {
			t.Errorf("header %q needs %v, column is %v", s, w, markWidth)
		}
	}
}
