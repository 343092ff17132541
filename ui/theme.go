package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme is keywizard's restrained theme: Fyne's default with the icon's blue
// as primary colour, a calm amber for warnings (an overdue deadline is not an
// error) and slightly softer backgrounds. Every text colour keeps at least
// WCAG AA contrast (4.5:1) on its background; TestThemeContrast checks it.
//
// By default it follows the system's light or dark setting (the variant Fyne
// passes in); NewTheme with a fixed variant forces one, for people who prefer
// it and for goldens.
type Theme struct {
	// Variant forces light or dark when set; nil follows the system.
	Variant *fyne.ThemeVariant
}

// NewTheme returns the keywizard theme following the system variant.
func NewTheme() *Theme { return &Theme{} }

// NewFixedTheme returns the keywizard theme always drawn in variant v
// (theme.VariantLight or theme.VariantDark).
func NewFixedTheme(v fyne.ThemeVariant) *Theme { return &Theme{Variant: &v} }

var _ fyne.Theme = (*Theme)(nil)

type palette struct{ light, dark color.NRGBA }

// Colours chosen against the default backgrounds below; see TestThemeContrast.
var colours = map[fyne.ThemeColorName]palette{
	theme.ColorNamePrimary:             {rgb(0x1F4E8C), rgb(0x8AB4F0)},
	theme.ColorNameForegroundOnPrimary: {rgb(0xFFFFFF), rgb(0x0E1A2B)},
	theme.ColorNameHyperlink:           {rgb(0x1F4E8C), rgb(0x8AB4F0)},
	// Focus and hover tint a button's background; the text on it keeps
	// 4.5:1 (TestThemeContrast blends them). Focus is also shown by the
	// ring of ui.Button, which the tint alone is not on the primary button.
	theme.ColorNameFocus:          {rgba(0x1F4E8C, 0x40), rgba(0x8AB4F0, 0x40)},
	theme.ColorNameHover:          {rgba(0x1F4E8C, 0x1A), rgba(0x8AB4F0, 0x26)},
	theme.ColorNameButton:         {rgb(0xE4E7EC), rgb(0x30353D)},
	theme.ColorNameDisabledButton: {rgb(0xE4E7EC), rgb(0x30353D)},
	// Disabled text (the steps that open once Welcome is filled in, a
	// button waiting for an action) stays readable: Fyne's light grey is
	// about 1.2:1 on white.
	theme.ColorNameDisabled:            {rgb(0x5A616B), rgb(0xA9B0BA)},
	theme.ColorNameSelection:           {rgba(0x1F4E8C, 0x3F), rgba(0x8AB4F0, 0x3F)},
	theme.ColorNameSuccess:             {rgb(0x1E7A4A), rgb(0x6FCF97)},
	theme.ColorNameForegroundOnSuccess: {rgb(0xFFFFFF), rgb(0x0B2416)},
	theme.ColorNameWarning:             {rgb(0x8F5300), rgb(0xF0B45A)},
	theme.ColorNameForegroundOnWarning: {rgb(0xFFFFFF), rgb(0x2B1A00)},
	theme.ColorNameError:               {rgb(0xB3261E), rgb(0xF2A19B)},
	theme.ColorNameForegroundOnError:   {rgb(0xFFFFFF), rgb(0x2B0A08)},
	theme.ColorNameBackground:          {rgb(0xF7F8FA), rgb(0x1B1E23)},
	theme.ColorNameHeaderBackground:    {rgb(0xECEFF3), rgb(0x23272E)},
	theme.ColorNameMenuBackground:      {rgb(0xFFFFFF), rgb(0x23272E)},
	theme.ColorNameOverlayBackground:   {rgb(0xFFFFFF), rgb(0x23272E)},
	theme.ColorNameInputBackground:     {rgb(0xFFFFFF), rgb(0x2A2F37)},
	theme.ColorNameForeground:          {rgb(0x1B1E23), rgb(0xEDEFF2)},
	theme.ColorNamePlaceHolder:         {rgb(0x5F6670), rgb(0xA4ABB5)},
}

func rgb(v uint32) color.NRGBA { return rgba(v, 0xFF) }

func rgba(v uint32, a uint8) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: a}
}

func (t *Theme) variant(v fyne.ThemeVariant) fyne.ThemeVariant {
	if t.Variant != nil {
		return *t.Variant
	}
	return v
}

// Color implements fyne.Theme.
func (t *Theme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	v = t.variant(v)
	if p, ok := colours[n]; ok {
		if v == theme.VariantDark {
			return p.dark
		}
		return p.light
	}
	return theme.DefaultTheme().Color(n, v)
}

// Font implements fyne.Theme.
func (t *Theme) Font(s fyne.TextStyle) fyne.Resource { return theme.DefaultTheme().Font(s) }

// Icon implements fyne.Theme.
func (t *Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size implements fyne.Theme.
func (t *Theme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameHeadingText:
		return 22
	case theme.SizeNameSubHeadingText:
		return 17
	}
	return theme.DefaultTheme().Size(n)
}
