package ui_test

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/ui/uitest"
)

var pngDir = flag.String("png", "", "also write each scenario's rendering as PNG into this directory (for looking at them)")

func TestMain(m *testing.M) {
	// Evidence times are shown in local time; goldens are drawn in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// TestScreens renders every scenario (each screen, each error state, the
// dialogs; some at 1920x1200 and in dark) and compares it with its markup
// golden in testdata/screens/. No scenario shows the embedded default
// catalogue: all run over the frozen test catalogue (stepstest.Catalogue,
// or an organisation's file merged into it), so adding a service to the
// default changes no golden. Regenerate after an intended change with
// cp testdata/failed/screens/* testdata/screens/ (make golden).
func TestScreens(t *testing.T) {
	for _, sc := range screens.All() {
		t.Run(sc.Name, func(t *testing.T) {
			a := uitest.NewTempApp(t)
			w := test.NewTempWindow(t, nil)
			e, err := sc.Open(a, w, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer e.UI.Close()
			if *pngDir != "" {
				f, err := os.Create(filepath.Join(*pngDir, sc.Name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				png.Encode(f, w.Canvas().Capture())
				f.Close()
			}
			test.AssertRendersToMarkup(t, "screens/"+sc.Name+".xml", w.Canvas())
		})
	}
}
