//go:build !windows

package main

import (
	"fmt"
	"os"
	"syscall"
)

// execGUI replaces this process with the window (same process ID, so a
// launcher, a desktop entry or a benchmark that started keywizard sees the
// window as what it started). It returns only when exec fails.
func execGUI(path string, args []string) error {
	if err := syscall.Exec(path, args, os.Environ()); err != nil {
		return fmt.Errorf("starting the keywizard window %s: %w", path, err)
	}
	return nil
}
