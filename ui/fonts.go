package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// PreloadFonts loads the fonts the window's text uses (regular, bold for
// headings, italic for hints) and returns when they are loaded. Call it off
// Fyne's goroutine before building screens there.
//
// Why: the first time Fyne measures text in a style it parses the theme's
// font and looks up a system fallback face for the locale (go-text's
// fontscan: fontconfig's files, its font index, then a system font such as
// DejaVu Sans parsed in full), about 50 ms on the benchmark machine. Done
// inside New, that would come on top of building the screens; done here
// first, New finds the fonts in Fyne's caches.
//
// Each style is measured on Fyne's goroutine, one DoAndWait each, so the
// window can paint between them; it stops when ctx ends (the window closed). Fyne's caches are not safe for
// concurrent use when built with migrated_fynedo (its
// internal/async/map_migratedfynedo.go is a plain map): measuring on
// another goroutine while Fyne paints could corrupt them.
func PreloadFonts(ctx context.Context) {
	size := theme.TextSize()
	for _, style := range []fyne.TextStyle{{}, {Bold: true}, {Italic: true}} {
		if !DoAndWait(ctx, func() { fyne.MeasureText("keywizard", size, style) }) {
			return
		}
	}
}
