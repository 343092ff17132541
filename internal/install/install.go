// Package install finds keywizard's executables, which are installed side
// by side: keywizard (the command-line tool) and keywizard-gui (the window)
// in the Makefile's bin/, the Linux package's bin directory or the macOS
// app's Contents/MacOS.
package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ErrNotProgram says the path exists but is a directory.
var ErrNotProgram = errors.New("a directory, not a program")

// Sibling returns the path of the executable name (".exe" added on Windows)
// beside the running one, following a symlink to the running executable
// (/usr/local/bin/keywizard -> the app bundle), and the directory it looked
// in. The error matches fs.ErrNotExist when nothing is there, and
// ErrNotProgram for a directory.
func Sibling(name string) (path, dir string, err error) {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	self, err := os.Executable()
	if err != nil {
		return "", "", fmt.Errorf("finding keywizard's own executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	dir = filepath.Dir(self)
	path = filepath.Join(dir, name)
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return path, dir, err
	case st.IsDir():
		return path, dir, fmt.Errorf("%s is %w", path, ErrNotProgram)
	}
	return path, dir, nil
}
