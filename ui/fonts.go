package ui

import (
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
// inside New on Fyne's goroutine, that would hold the window still; done
// here first, New finds the fonts in Fyne's caches, which are safe for
// concurrent use.
func PreloadFonts() {
	size := theme.TextSize()
	for _, style := range []fyne.TextStyle{{}, {Bold: true}, {Italic: true}} {
		fyne.MeasureText("keywizard", size, style)
	}
}
