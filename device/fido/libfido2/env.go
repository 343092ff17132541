package libfido2

import (
	"os"
	"path/filepath"
)

// EnvHIDPaths is the environment variable that lists extra FIDO HID
// device nodes for [EnvPaths]: absolute paths separated by the OS's path
// list separator (":" on Linux), as `keywizard sim --hid PATH` prints it.
const EnvHIDPaths = "KEYWIZARD_FIDO_HID_PATHS"

// EnvPaths returns the absolute paths listed in [EnvHIDPaths]; empty and
// relative entries are ignored.
func EnvPaths() []string {
	var out []string
	for _, p := range filepath.SplitList(os.Getenv(EnvHIDPaths)) {
		if filepath.IsAbs(p) {
			out = append(out, p)
		}
	}
	return out
}
