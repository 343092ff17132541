// Package layout holds the architecture's import rules (see ARCHITECTURE.md)
// and the test that enforces them on the real dependency graph, as
// tailscale's tstest/deptest does: a rule broken in code fails `make test`.
package layout

// Module is the module path every rule is relative to.
const Module = "github.com/keywizard/keywizard"

// Rule forbids a set of packages, directly or transitively, to the packages
// matching From (a path relative to Module; a trailing "/..." matches the
// subtree).
type Rule struct {
	From      string
	Forbidden []string // import path prefixes; relative ones are under Module
	Why       string
}

// Rules are the arrows of ARCHITECTURE.md, written as what may not be reached.
var Rules = []Rule{
	{From: "device", Forbidden: []string{"fyne.io/", "steps", "ui", "tracker", "device/", "github.com/go-piv/", "github.com/keys-pub/"},
		Why: "the device root is pure types and errors; everything builds on it"},
	{From: "device/aid", Forbidden: []string{Module + "/"},
		Why: "the AIDs are read by device/trace, which device/piv imports, so they import nothing of the project"},
	{From: "device/...", Forbidden: []string{"fyne.io/", "steps", "ui", "tracker", "github.com/zalando/go-keyring", "github.com/pkg/browser"},
		Why: "the hardware layer knows nothing of the wizard, the UI or the tracker"},
	{From: "steps/...", Forbidden: []string{"fyne.io/", "ui", "device/pcsc", "device/piv", "device/scan", "device/sim", "device/fido/libfido2",
		"github.com/go-piv/", "github.com/keys-pub/", "github.com/zalando/go-keyring", "github.com/pkg/browser", "tracker/server", "tracker/store"},
		Why: "steps is the wizard's logic: it asks for keys, browser, keychain and tracker through its own interfaces"},
	{From: "ui/...", Forbidden: []string{"fyne.io/fyne/v2/app", "device/", "github.com/go-piv/", "github.com/keys-pub/", "tracker/server", "tracker/store"},
		Why: "ui renders state: no hardware, and only cmd creates the Fyne app"},
	{From: "internal/cli", Forbidden: []string{"fyne.io/", "device/", "steps", "ui", "tracker"},
		Why: "the commands see keys only through their Devices interface, so they are tested with fakes"},
	{From: "internal/keys", Forbidden: []string{"fyne.io/", "ui", "tracker/"},
		Why: "the key adapters turn device/hub into cli.Devices and steps.Keys; they know nothing of the window or the tracker"},
	{From: "internal/maclogin", Forbidden: []string{"fyne.io/", "ui", "device/", "tracker/"},
		Why: "macOS login runs sc_auth; it needs the device types only, not the hardware layer"},
	{From: "internal/settings", Forbidden: []string{"fyne.io/", "ui", "device", "steps", "tracker"},
		Why: "the settings file is read by everything that links to the tracker; it depends on nothing of the project"},
	{From: "internal/trackerlink", Forbidden: []string{"fyne.io/", "ui", "device/", "tracker/server", "tracker/store", "tracker/cli"},
		Why: "the tracker link is the app's side of the tracker: the client only, never the server or its database drivers"},
	{From: "internal/simulation", Forbidden: []string{"fyne.io/", "ui", "tracker/"},
		Why: "the simulation replaces the hardware below the wizard; a simulated run never reaches the organisation's tracker"},
	{From: "internal/desktop", Forbidden: []string{"fyne.io/fyne/v2/app", "device/", "internal/keys", "internal/simulation", "internal/maclogin", "tracker/server", "tracker/store", "tracker/cli"},
		Why: "the app gets its keys, browser and sc_auth injected (cmd/keywizard-gui chooses real or simulated ones), so every behaviour is tested with fakes; only cmd creates the Fyne app"},
	{From: "cmd/keywizard", Forbidden: []string{"fyne.io/", "ui"},
		Why: "the command-line tool does not link Fyne, so it starts almost as fast as a minimal PC/SC client; the window is cmd/keywizard-gui"},
	{From: "cmd/keywizard-gui", Forbidden: []string{"tracker/server", "tracker/store", "tracker/cli"},
		Why: "the window links the tracker client only: the server and its database drivers would add ~10 MB to its memory (BENCHMARKS.md)"},
	{From: "cmd/...", Forbidden: []string{"device/scan/macpcsc"},
		Why: "macpcsc imitates macOS's PC/SC over pcscd for tests; the executables use the platform's own"},
	{From: "internal/keys", Forbidden: []string{"device/scan/macpcsc"},
		Why: "macpcsc imitates macOS's PC/SC over pcscd for tests; the adapters use the platform's own"},
	{From: "tracker/...", Forbidden: []string{"fyne.io/", "device/", "steps", "ui"},
		Why: "the tracker server and client build without cgo or a display"},
	{From: "tracker/evidence", Forbidden: []string{"tracker/store", "tracker/server", "tracker/cli", "tracker/client", "tracker/join", "tracker/attest",
		"github.com/jackc/", "modernc.org/"},
		Why: "an auditor's offline check of exports and the audit chain needs no database or server code"},
}
