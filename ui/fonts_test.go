package ui_test

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// TestPreloadFontsOffFyneGoroutine: the fonts load from another goroutine
// (as keywizard-gui does behind its first frame) while Fyne's goroutine
// measures text, and text measures the same afterwards. Under go test -race
// this fails if PreloadFonts touches Fyne's caches off Fyne's goroutine
// (they are plain maps with migrated_fynedo): uitest runs fyne.Do functions
// one at a time, as the real driver does.
func TestPreloadFontsOffFyneGoroutine(t *testing.T) {
	uitest.NewTempApp(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ui.PreloadFonts(context.Background())
	}()
	measure := func() (s fyne.Size) {
		fyne.DoAndWait(func() { s = fyne.MeasureText("Plugging in", theme.TextSize(), fyne.TextStyle{Bold: true}) })
		return s
	}
	before := measure()
	<-done
	after := measure()
	if before != after || after.Width == 0 {
		t.Errorf("bold text measured %v while the fonts loaded, %v after", before, after)
	}
}
