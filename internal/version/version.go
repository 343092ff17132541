// Package version says which keywizard this is, for both executables
// (keywizard and keywizard-gui) and the reports they send.
package version

import "runtime/debug"

// value is set at build time: -ldflags "-X
// github.com/keywizard/keywizard/internal/version.value=..." (Makefile,
// scripts/package.sh).
var value string

// String is the build's version: the one set at build time, else the
// module version go install recorded, else "dev".
func String() string {
	if value != "" {
		return value
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
