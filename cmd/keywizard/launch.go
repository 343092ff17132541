package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// guiName is the window's executable, installed beside keywizard's own (the
// Makefile's bin/, the Linux package's bin directory, the macOS app's
// Contents/MacOS). It is a separate executable so this one does not link
// Fyne: issue 2 asks `keywizard keys --json` to cost little more than a
// minimal PC/SC client, and Fyne's package initialisation and size alone
// cost more than that (BENCHMARKS.md).
func guiName() string {
	if runtime.GOOS == "windows" {
		return "keywizard-gui.exe"
	}
	return "keywizard-gui"
}

// guiPath finds the window's executable beside this one, following a
// symlink to keywizard (e.g. /usr/local/bin/keywizard -> the app bundle).
func guiPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding keywizard's own executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	path := filepath.Join(filepath.Dir(self), guiName())
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the keywizard window (%s) is not installed next to keywizard in %s: reinstall keywizard, or run `make build` in a checkout: %w", guiName(), filepath.Dir(self), err)
	}
	if err != nil {
		return "", fmt.Errorf("checking the keywizard window %s: %w", path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("the keywizard window %s is a directory, not a program: reinstall keywizard", path)
	}
	return path, nil
}

// runGUI starts the window in place of this process (see exec_*.go).
func runGUI(simulate bool) error {
	path, err := guiPath()
	if err != nil {
		return err
	}
	args := []string{path}
	if simulate {
		args = append(args, "--simulate")
	}
	return execGUI(path, args)
}
