package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// PreloadFonts loads, on a goroutine of its own, the fonts the window's text
// uses: regular first (start-up's note and body text), then bold (headings)
// and italic (hints). It returns at once; done, if not nil, is closed when
// the fonts are loaded.
//
// Why: the first time Fyne measures text in a style it parses the theme's
// font and looks up a system fallback face for the locale (go-text's
// fontscan: fontconfig's files, its font index, then a system font such as
// DejaVu Sans parsed in full), about 40-90 ms on the benchmark machine, all
// on the main goroutine before the first frame (issue 3's first-frame
// target). Started right after the app is created, that work overlaps the
// window system's and OpenGL's own start-up on the main thread instead of
// coming before it. Fyne's font caches are safe for concurrent use, so text
// measured on the main goroutine meanwhile at worst waits for the remainder.
func PreloadFonts() {
	go func() {
		size := theme.TextSize()
		for _, style := range []fyne.TextStyle{{}, {Bold: true}, {Italic: true}} {
			fyne.MeasureText("keywizard", size, style)
		}
	}()
}
