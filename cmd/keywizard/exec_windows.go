//go:build windows

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// execGUI runs the window and waits for it: Windows has no exec, so this
// process stays as its parent and passes its exit code on.
func execGUI(path string, args []string) error {
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("starting the keywizard window %s: %w", path, err)
	}
	return nil
}
