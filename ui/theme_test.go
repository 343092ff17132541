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

// TestThemeContrast checks WCAG AA (4.5:1) for every text colour the UI puts
// on a background, in both variants.
func TestThemeContrast(t *testing.T) {
	th := NewTheme()
	pairs := []struct{ fg, bg fyne.ThemeColorName }{
		{theme.ColorNameForeground, theme.ColorNameBackground},
		{theme.ColorNameForeground, theme.ColorNameHeaderBackground},
		{theme.ColorNameForeground, theme.ColorNameInputBackground},
		{theme.ColorNameForeground, theme.ColorNameOverlayBackground},
		{theme.ColorNamePrimary, theme.ColorNameBackground},
		{theme.ColorNameHyperlink, theme.ColorNameBackground},
		{theme.ColorNameWarning, theme.ColorNameBackground},
		{theme.ColorNameWarning, theme.ColorNameHeaderBackground},
		{theme.ColorNameError, theme.ColorNameBackground},
		{theme.ColorNameSuccess, theme.ColorNameBackground},
		{theme.ColorNamePlaceHolder, theme.ColorNameInputBackground},
		{theme.ColorNameForegroundOnPrimary, theme.ColorNamePrimary},
		{theme.ColorNameForegroundOnWarning, theme.ColorNameWarning},
		{theme.ColorNameForegroundOnError, theme.ColorNameError},
		{theme.ColorNameForegroundOnSuccess, theme.ColorNameSuccess},
	}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		for _, p := range pairs {
			if c := contrast(th.Color(p.fg, v), th.Color(p.bg, v)); c < 4.5 {
				t.Errorf("variant %d: %s on %s has contrast %.2f:1, want >= 4.5:1", v, p.fg, p.bg, c)
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
