package ui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/keywizard/keywizard/ui/uitest"
)

// luminance is the WCAG 2.x relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over is c drawn over the opaque bg (alpha compositing, as Fyne blends a
// focus or hover tint into a button's background).
func over(bg, c color.Color) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	b := color.NRGBAModel.Convert(bg).(color.NRGBA)
	a := float64(n.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(n.R, b.R), G: mix(n.G, b.G), B: mix(n.B, b.B), A: 0xff}
}

// textPairs is every pair of theme colours the window draws text in and
// on: labels of each importance on the window, header, card, input and
// menu backgrounds; button text on each importance's background, plain,
// hovered and focused; disabled text (the inactive steps) on the window and
// on a disabled button; placeholders in inputs.
func textPairs() (pairs []struct {
	fg, bg, tint fyne.ThemeColorName
}) {
	add := func(fg, bg, tint fyne.ThemeColorName) {
		pairs = append(pairs, struct{ fg, bg, tint fyne.ThemeColorName }{fg, bg, tint})
	}
	surfaces := []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameHeaderBackground, theme.ColorNameOverlayBackground,
		theme.ColorNameInputBackground, theme.ColorNameMenuBackground}
	for _, fg := range []fyne.ThemeColorName{theme.ColorNameForeground, theme.ColorNamePrimary, theme.ColorNameHyperlink,
		theme.ColorNameWarning, theme.ColorNameError, theme.ColorNameSuccess, theme.ColorNameDisabled} {
		for _, bg := range surfaces {
			add(fg, bg, "")
		}
	}
	add(theme.ColorNamePlaceHolder, theme.ColorNameInputBackground, "")
	add(theme.ColorNameDisabled, theme.ColorNameDisabledButton, "")
	buttons := []struct{ fg, bg fyne.ThemeColorName }{
		{theme.ColorNameForeground, theme.ColorNameButton},
		{theme.ColorNameForegroundOnPrimary, theme.ColorNamePrimary},
		{theme.ColorNameForegroundOnWarning, theme.ColorNameWarning},
		{theme.ColorNameForegroundOnError, theme.ColorNameError},
		{theme.ColorNameForegroundOnSuccess, theme.ColorNameSuccess},
	}
	for _, b := range buttons {
		for _, tint := range []fyne.ThemeColorName{"", theme.ColorNameHover, theme.ColorNameFocus} {
			add(b.fg, b.bg, tint)
		}
	}
	// A low-importance button (the step list) is transparent until hovered
	// or focused, then takes the button colour with the tint.
	for _, tint := range []fyne.ThemeColorName{theme.ColorNameHover, theme.ColorNameFocus} {
		add(theme.ColorNameForeground, theme.ColorNameButton, tint)
	}
	return pairs
}

// TestThemeContrast checks WCAG AA (4.5:1) for every text colour the UI puts
// on a background, in both variants, and that the focus ring stands out
// (3:1, WCAG 2.2 §1.4.11) from the window and from the primary button.
func TestThemeContrast(t *testing.T) {
	th := NewTheme()
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		for _, p := range textPairs() {
			bg := th.Color(p.bg, v)
			if p.tint != "" {
				bg = over(bg, th.Color(p.tint, v))
			}
			if c := contrast(th.Color(p.fg, v), bg); c < 4.5 {
				t.Errorf("variant %d: %s on %s (tint %q) has contrast %.2f:1, want >= 4.5:1", v, p.fg, p.bg, p.tint, c)
			}
		}
		ring := th.Color(theme.ColorNameForeground, v)
		for _, bg := range []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameOverlayBackground} {
			if c := contrast(ring, th.Color(bg, v)); c < 3 {
				t.Errorf("variant %d: focus ring on %s has contrast %.2f:1, want >= 3:1", v, bg, c)
			}
		}
	}
}

func TestThemeVariant(t *testing.T) {
	uitest.NewTempApp(t)
	follow := NewTheme()
	if follow.Color(theme.ColorNameBackground, theme.VariantDark) == follow.Color(theme.ColorNameBackground, theme.VariantLight) {
		t.Error("following theme draws the same background for light and dark")
	}
	dark := NewFixedTheme(theme.VariantDark)
	if got, want := dark.Color(theme.ColorNameBackground, theme.VariantLight), follow.Color(theme.ColorNameBackground, theme.VariantDark); got != want {
		t.Errorf("fixed dark theme asked for light gives %v, want the dark %v", got, want)
	}
	// Names the palette does not override fall through to Fyne's default.
	if got, want := follow.Color(theme.ColorNameShadow, theme.VariantLight), theme.DefaultTheme().Color(theme.ColorNameShadow, theme.VariantLight); got != want {
		t.Errorf("shadow = %v, want Fyne's %v", got, want)
	}
}
