package ui_test

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keywizard/keywizard/ui"
)

// TestPreloadFontsOffFyneGoroutine: the fonts load from another goroutine
// (as keywizard-gui does behind its first frame) and text measures the same
// afterwards (go test -race checks the concurrent use of Fyne's caches).
func TestPreloadFontsOffFyneGoroutine(t *testing.T) {
	test.NewTempApp(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ui.PreloadFonts()
	}()
	before := fyne.MeasureText("Plugging in", theme.TextSize(), fyne.TextStyle{Bold: true})
	<-done
	after := fyne.MeasureText("Plugging in", theme.TextSize(), fyne.TextStyle{Bold: true})
	if before != after || after.Width == 0 {
		t.Errorf("bold text measured %v while the fonts loaded, %v after", before, after)
	}
}
