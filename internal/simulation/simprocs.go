package simulation

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/keywizard/keywizard/device/scan"
)

// simProc is one simulated key's process; done is closed when it ends.
type simProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcesses plugs the simulated keys in as processes of their
// own, `keywizard sim` run from cli (the command-line tool), the way real keys
// are hardware of their own: pcscd asks a vpcd card for its ATR on every
// presence poll (about five a second for two keys), and answered in the
// window's process those wake-ups were most of its CPU while idle (BENCHMARKS.md,
// "Enrollment window": nothing polling while the person reads). The keys'
// FIDO2 side stays in this process, on FIDO HID nodes that libfido2 opens
// (Linux; elsewhere behind the simulator's registry), as with
// Start; it is not told when a card reboots after a configuration
// write, which nothing in the wizard needs. (`keywizard sim --hid` runs both
// sides of a key in one process; the window's simulated browser registers
// passkeys on the FIDO2 side directly, which needs it in this process.)
// With lock set the machine-wide vpcd lock is taken first and held until
// Close (callers that hold it already, tests through internal/testenv, pass
// false). Close stops the processes; on Linux so does the kernel if this
// process dies.
func StartProcesses(ctx context.Context, specs []KeySpec, cli string, lock bool) (*Simulation, error) {
	return StartProcessesWith(ctx, specs, cli, Options{Lock: lock})
}

// StartProcessesWith is StartProcesses with options.
func StartProcessesWith(ctx context.Context, specs []KeySpec, cli string, opts Options) (*Simulation, error) {
	s, err := newSimulation(ctx, specs, opts)
	if err != nil {
		return nil, err
	}
	opts.progress("Plugging in the simulated keys")
	// Watching from before the first card connects sees every arrival.
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	events, err := s.Hub.Watch(wctx)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("watching for the simulated keys: %w", err)
	}
	exited := make(chan *simProc, len(specs))
	for i, k := range s.Keys {
		cmd := exec.Command(cli, "sim", "--serial", fmt.Sprint(k.Serial()), "--model", specs[i].Model,
			"--firmware", k.Firmware().String(), "--slot", fmt.Sprint(i), "--no-fido-ccid")
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = simProcAttr()
		if err := cmd.Start(); err != nil {
			s.Close()
			return nil, fmt.Errorf("starting simulated key %d with %s: %w", k.Serial(), cli, err)
		}
		p := &simProc{cmd: cmd, done: make(chan struct{})}
		go func() {
			p.err = cmd.Wait()
			close(p.done)
			exited <- p
		}()
		s.procs = append(s.procs, p)
	}
	if err := s.waitKeys(ctx, specs, events, exited, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitKeys waits until every simulated key is seen by pcscd and readable,
// or a key's process ends. The watcher's Arrived events say it at once
// (pcscd sees a vpcd card at its next presence poll, within a second). But
// a card pcscd reports before it can answer (just connected, or in a slot
// the previous run's key left moments ago, device/sim/vpcd.go minAbsence)
// comes as Unreadable, and the watcher never probes that card again until
// it is re-inserted (device/scan/watch.go): so after an Unreadable event,
// and every second while a key is missing, the missing keys are looked for
// directly (Hub.Find), which opens the card anew.
func (s *Simulation) waitKeys(ctx context.Context, specs []KeySpec, events <-chan scan.Event, exited <-chan *simProc, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	missing := map[uint32]int{} // serial → vpcd slot
	for i, sp := range specs {
		missing[sp.Serial] = i
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastProblem error
	lookAgain := func() {
		for serial := range missing {
			if _, err := s.Hub.Find(ctx, serial); err == nil {
				delete(missing, serial)
			} else {
				lastProblem = err
			}
		}
	}
	said := ""
	for len(missing) > 0 {
		if w := waitingFor(missing); w != said {
			said = w
			opts.progress(w)
		}
		select {
		case ev, ok := <-events:
			switch {
			case !ok:
				return fmt.Errorf("waiting for pcscd to see the simulated keys: the watch ended")
			case ev.Kind == scan.Stopped:
				return fmt.Errorf("waiting for pcscd to see the simulated keys: %w", ev.Err)
			case ev.Kind == scan.Arrived:
				delete(missing, ev.Key.Serial)
			case ev.Kind == scan.Unreadable:
				lastProblem = ev.Err
				lookAgain()
			}
		case <-tick.C:
			lookAgain()
		case p := <-exited:
			return fmt.Errorf("plugging in the simulated keys (is pcscd with vsmartcard-vpcd running? scripts/pcscd.sh): the key's process ended: %v", p.err)
		case <-ctx.Done():
			if lastProblem != nil {
				return fmt.Errorf("%s; last problem: %v: %w", strings.ToLower(waitingFor(missing)[:1])+waitingFor(missing)[1:], lastProblem, ctx.Err())
			}
			return fmt.Errorf("%s: %w", strings.ToLower(waitingFor(missing)[:1])+waitingFor(missing)[1:], ctx.Err())
		}
	}
	return nil
}

// waitingFor says which keys pcscd has not shown yet, in slot order.
func waitingFor(missing map[uint32]int) string {
	serials := make([]uint32, 0, len(missing))
	for serial := range missing {
		serials = append(serials, serial)
	}
	slices.SortFunc(serials, func(a, b uint32) int { return missing[a] - missing[b] })
	var parts []string
	for _, serial := range serials {
		parts = append(parts, fmt.Sprintf("key %d in virtual reader %d", serial, missing[serial]))
	}
	return "Waiting for pcscd to show simulated " + strings.Join(parts, " and ")
}

// stopProcs ends the keys' processes (SIGTERM unplugs a `keywizard sim`
// key cleanly; SIGKILL after 5 s) and waits for them.
func (s *Simulation) stopProcs() {
	for _, p := range s.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	s.procs = nil
}
