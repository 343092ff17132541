package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/keywizard/keywizard/internal/install"
)

// guiName is the window's executable, installed beside keywizard's own
// (package install). It is a separate executable so this one does not link
// Fyne: `keywizard keys --json` should cost little more than a minimal
// PC/SC client, and Fyne's package initialisation and size alone
// cost more than that (BENCHMARKS.md).
const guiName = "keywizard-gui"

// guiPath finds the window's executable beside this one.
func guiPath() (string, error) {
	path, dir, err := install.Sibling(guiName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("the keywizard window (%s) is not installed next to keywizard in %s: reinstall keywizard, or run `make build` in a checkout: %w", guiName, dir, err)
	case errors.Is(err, install.ErrNotProgram):
		return "", fmt.Errorf("%w: reinstall keywizard", err)
	case err != nil:
		return "", fmt.Errorf("checking the keywizard window %s: %w", path, err)
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
