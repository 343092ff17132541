package assets

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"
)

// render draws a resource the way the app does (Fyne's software painter).
func render(t *testing.T, res fyne.Resource, w, h float32) image.Image {
	t.Helper()
	test.NewTempApp(t)
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	c := software.NewTransparentCanvas()
	c.SetPadded(false)
	c.SetContent(img)
	c.Resize(fyne.NewSize(w, h))
	return c.Capture()
}

// opaqueShare is the fraction of pixels that are at least half opaque.
func opaqueShare(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a >= 0x8000 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func TestIconPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(Icon().Content()))
	if err != nil {
		t.Fatalf("icon.png does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Fatalf("icon.png is %dx%d, packaging wants 512x512", b.Dx(), b.Dy())
	}
	// Rounded-square icon: the corners are transparent, the middle is not.
	if _, _, _, a := img.At(2, 2).RGBA(); a != 0 {
		t.Errorf("icon corner alpha = %d, want transparent", a)
	}
	if _, _, _, a := img.At(256, 256).RGBA(); a != 0xffff {
		t.Errorf("icon centre alpha = %d, want opaque", a)
	}
}

// TestIconPNGMatchesSVG fails when icon.svg was edited without re-running
// go run ./assets/internal/rasterize assets/icon.svg assets/icon.png 512.
func TestIconPNGMatchesSVG(t *testing.T) {
	want, err := png.Decode(bytes.NewReader(Icon().Content()))
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, IconSVG(), 512, 512)
	differ := 0
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, a1 := want.At(x, y).RGBA()
			r2, g2, b2, a2 := got.At(x, y).RGBA()
			if absDiff(r1, r2) > 0x1000 || absDiff(g1, g2) > 0x1000 || absDiff(b1, b2) > 0x1000 || absDiff(a1, a2) > 0x1000 {
				differ++
			}
		}
	}
	// Anti-aliasing may differ by a pixel on edges between renderer versions.
	if share := float64(differ) / float64(b.Dx()*b.Dy()); share > 0.01 {
		t.Errorf("icon.png differs from icon.svg in %.1f%% of pixels; regenerate it (see package doc)", share*100)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestIllustrationsRender(t *testing.T) {
	for _, res := range []fyne.Resource{IconSVG(), TouchKey(), TwoKeys()} {
		t.Run(res.Name(), func(t *testing.T) {
			img := render(t, res, 320, 200)
			// A parse failure renders nothing; a real drawing covers a good part.
			if s := opaqueShare(img); s < 0.1 {
				t.Errorf("%s renders to %.0f%% opaque pixels; the SVG probably failed to parse", res.Name(), s*100)
			}
		})
	}
}

func TestResourceNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, res := range []fyne.Resource{Icon(), IconSVG(), TouchKey(), TwoKeys()} {
		if seen[res.Name()] {
			t.Errorf("duplicate resource name %q: Fyne caches images by name", res.Name())
		}
		seen[res.Name()] = true
		if len(res.Content()) == 0 {
			t.Errorf("%s is empty", res.Name())
		}
	}
}
