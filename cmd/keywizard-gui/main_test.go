package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	boom := errors.New("no display")
	for _, tc := range []struct {
		name     string
		args     []string
		guiErr   error
		code     int
		started  bool
		simulate bool
		out, err string
	}{
		{name: "no arguments starts the window", code: 0, started: true},
		{name: "simulate", args: []string{"--simulate"}, code: 0, started: true, simulate: true},
		{name: "version", args: []string{"--version"}, code: 0, out: "keywizard-gui version"},
		{name: "help", args: []string{"--help"}, code: 0, err: "Usage: keywizard-gui"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, err: "flag provided but not defined"},
		{name: "a command is keywizard's", args: []string{"keys"}, code: 2, err: "keywizard --help"},
		{name: "the window fails", guiErr: boom, code: 1, started: true, err: "keywizard: error: no display"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			started, simulate := false, false
			code := run(tc.args, &out, &errb, func(sim bool) error {
				started, simulate = true, sim
				return tc.guiErr
			})
			if code != tc.code || started != tc.started || simulate != tc.simulate {
				t.Errorf("code %d started %v simulate %v, want %d %v %v (stderr %q)", code, started, simulate, tc.code, tc.started, tc.simulate, errb.String())
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Errorf("stdout %q stderr %q, want them to contain %q and %q", out.String(), errb.String(), tc.out, tc.err)
			}
		})
	}
}
