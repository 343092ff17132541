// Command rasterize renders the hand-drawn SVGs in assets/ to PNGs with Fyne's
// own software painter (the same SVG renderer the app uses at run time), so
// the PNG icon that packaging needs matches what the window shows and no
// external SVG tool is required. Run from the repository root:
//
//	go run ./assets/internal/rasterize assets/icon.svg assets/icon.png 512
package main

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: rasterize IN.svg OUT.png SIZE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "rasterize:", err)
		os.Exit(1)
	}
}

func run(in, out, size string) error {
	px, err := strconv.Atoi(size)
	if err != nil || px <= 0 {
		return fmt.Errorf("size %q: want a positive number of pixels", size)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	test.NewApp() // the software painter needs a current app for theme lookups
	img := canvas.NewImageFromResource(fyne.NewStaticResource(filepath.Base(in), data))
	img.FillMode = canvas.ImageFillContain
	c := software.NewTransparentCanvas()
	c.SetPadded(false)
	c.SetContent(img)
	c.Resize(fyne.NewSize(float32(px), float32(px)))
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, c.Capture()); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return f.Close()
}
