//go:build !windows

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// copyBin puts the built keywizard into dir (optionally behind a symlink),
// so the launcher looks for the window beside that copy.
func copyBin(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "keywizard")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNoCommandRunsTheWindow checks the launcher with a stand-in window (a
// script that records its arguments and exits with a code of its own): the
// real window needs a display, and is covered by ui's tests and make bench.
func TestNoCommandRunsTheWindow(t *testing.T) {
	install := t.TempDir()
	kw := copyBin(t, install)
	record := filepath.Join(t.TempDir(), "args")
	script := "#!/bin/sh\necho \"pid=$$ args=$*\" > '" + record + "'\nexit 7\n"
	if err := os.WriteFile(filepath.Join(install, "keywizard-gui"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink elsewhere (e.g. /usr/local/bin/keywizard -> the install)
	// still finds the window beside the real file.
	link := filepath.Join(t.TempDir(), "keywizard")
	if err := os.Symlink(kw, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "args="},
		{[]string{"--simulate"}, "args=--simulate"},
	} {
		cmd := exec.Command(link, tc.args...)
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 7 {
			t.Fatalf("keywizard %v: %v, want the window's exit code 7", tc.args, err)
		}
		got, err := os.ReadFile(record)
		if err != nil {
			t.Fatalf("keywizard %v did not start the window: %v", tc.args, err)
		}
		line := strings.TrimSpace(string(got))
		if !strings.HasSuffix(line, tc.want) {
			t.Errorf("keywizard %v: window got %q, want %q", tc.args, line, tc.want)
		}
		// exec, not a child process: the window has keywizard's process ID.
		if !strings.HasPrefix(line, "pid="+strconv.Itoa(cmd.Process.Pid)+" ") {
			t.Errorf("keywizard %v: window ran as %q, not as keywizard's process %d", tc.args, line, cmd.Process.Pid)
		}
	}
}

func TestNoCommandWithoutTheWindowSaysWhatToDo(t *testing.T) {
	install := t.TempDir()
	kw := copyBin(t, install)
	out, err := exec.Command(kw).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("keywizard without keywizard-gui: %v, want exit code 1\n%s", err, out)
	}
	for _, want := range []string{"keywizard-gui", install, "reinstall keywizard"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message %q does not say %q", out, want)
		}
	}
}
