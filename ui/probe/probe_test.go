package probe

import (
	"bytes"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestWrapOff(t *testing.T) {
	content := widget.NewLabel("x")
	if got := Wrap(content, func(string) string { return "" }, nil, time.Now); got != content {
		t.Fatal("without the env variable Wrap must return content unchanged")
	}
}

func TestFirstFrameReportedOnceOnPaint(t *testing.T) {
	test.NewTempApp(t)
	var out bytes.Buffer
	at := time.Unix(0, 1234567890)
	content := widget.NewLabel("hello")
	wrapped := Wrap(content, func(k string) string {
		if k == EnvFirstFrame {
			return "1"
		}
		return ""
	}, &out, func() time.Time { return at })
	if out.Len() != 0 {
		t.Fatalf("reported before any paint: %q", out.String())
	}
	w := test.NewTempWindow(t, wrapped)
	w.Resize(fyne.NewSize(200, 100))
	w.Canvas().Capture() // paints a frame with the software painter
	w.Canvas().Capture()
	if got, want := out.String(), "firstframe 1234567890\n"; got != want {
		t.Fatalf("report = %q, want %q once", got, want)
	}
	if s := content.Size(); s.Width < 150 {
		t.Errorf("content not given the window's width: %v", s)
	}
}

func TestScreenFromEnv(t *testing.T) {
	t.Setenv(EnvFirstFrame, "")
	if ScreenFromEnv() != nil {
		t.Fatal("ScreenFromEnv without the benchmark's variable must return nil")
	}
	t.Setenv(EnvFirstFrame, "1")
	if ScreenFromEnv() == nil {
		t.Fatal("ScreenFromEnv with the benchmark's variable returned nil")
	}
}
