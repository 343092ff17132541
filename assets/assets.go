// Package assets holds keywizard's own artwork (the app icon and the
// pictures the steps show), drawn by hand for this project as SVG and bundled
// into the binary with go:embed. No third-party or service logos are used.
//
// icon.png is rendered from icon.svg by ./internal/rasterize (packaging and
// window managers want a bitmap); TestIconPNGMatchesSVG fails when it is stale.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

var (
	//go:embed icon.png
	iconPNG []byte
	//go:embed icon.svg
	iconSVG []byte
	//go:embed touch.svg
	touchSVG []byte
	//go:embed keys.svg
	keysSVG []byte
)

// Resources are built once: Fyne caches rendered images by resource name, so
// handing out the same values keeps that cache effective.
var (
	icon     = fyne.NewStaticResource("keywizard.png", iconPNG)
	iconVec  = fyne.NewStaticResource("keywizard.svg", iconSVG)
	touchKey = fyne.NewStaticResource("touch-key.svg", touchSVG)
	twoKeys  = fyne.NewStaticResource("two-keys.svg", keysSVG)
)

// Icon is the application icon as a 512x512 PNG, for fyne.App.SetIcon and
// window decorations.
func Icon() fyne.Resource { return icon }

// IconSVG is the application icon as a vector, for use inside the window
// (it stays sharp at any scale).
func IconSVG() fyne.Resource { return iconVec }

// TouchKey is the "touch the gold contact" illustration shown while a key waits
// for a touch.
func TouchKey() fyne.Resource { return touchKey }

// TwoKeys shows the everyday nano key in a laptop and the keyring key, for the
// key detection step.
func TwoKeys() fyne.Resource { return twoKeys }
