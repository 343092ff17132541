package wire

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/sim/vpcdlock"
)

// simProc is one simulated key's process; done is closed when it ends.
type simProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartSimulationProcesses plugs the simulated keys in as processes of their
// own, `keywizard sim` run from cli (the command-line tool), the way real keys
// are hardware of their own: pcscd asks a vpcd card for its ATR on every
// presence poll (about five a second for two keys), and answered in the
// window's process those wake-ups were most of its CPU while idle (issue 3:
// nothing polling while the person reads). The keys' FIDO2 side, which
// libfido2 reaches only over HID, stays in this process behind the
// simulator's registry, as with StartSimulation; it is not told when a card
// reboots after a configuration write, which nothing in the wizard needs.
// With lock set the machine-wide vpcd lock is taken first and held until
// Close (callers that hold it already, tests through internal/testenv, pass
// false). Close stops the processes; on Linux so does the kernel if this
// process dies.
func StartSimulationProcesses(ctx context.Context, specs []SimSpec, cli string, lock bool) (*Simulation, error) {
	if len(specs) > 2 {
		return nil, fmt.Errorf("vpcd has two virtual readers; %d simulated keys asked for: %w", len(specs), device.ErrInvalidArgument)
	}
	s := &Simulation{FIDO: map[uint32]*simfido.Authenticator{}, Provider: sim.NewRegistry()}
	if lock {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		unlock, err := vpcdlock.Lock(lctx)
		cancel()
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	exited := make(chan *simProc, len(specs))
	for i, sp := range specs {
		k, err := sim.New(sim.Config{Serial: sp.Serial, Model: sp.Model, Firmware: sp.Firmware})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("simulated key %d: %w", sp.Serial, err)
		}
		s.Keys = append(s.Keys, k)
		s.FIDO[sp.Serial] = k.FIDO()
		s.Provider.Add(k)
		cmd := exec.Command(cli, "sim", "--serial", fmt.Sprint(sp.Serial), "--model", sp.Model,
			"--firmware", k.Firmware().String(), "--slot", fmt.Sprint(i))
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = simProcAttr()
		if err := cmd.Start(); err != nil {
			s.Close()
			return nil, fmt.Errorf("starting simulated key %d with %s: %w", sp.Serial, cli, err)
		}
		p := &simProc{cmd: cmd, done: make(chan struct{})}
		go func() {
			p.err = cmd.Wait()
			close(p.done)
			exited <- p
		}()
		s.procs = append(s.procs, p)
	}
	s.Hub = NewHub(s.Provider)
	if err := s.waitKeys(ctx, specs, exited); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitKeys waits until pcscd shows every simulated key (it sees a vpcd card
// at its next presence poll, within a second), or a key's process ends.
func (s *Simulation) waitKeys(ctx context.Context, specs []SimSpec, exited <-chan *simProc) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if keys, err := s.Hub.Keys(ctx, false); err == nil && !slices.ContainsFunc(specs, func(sp SimSpec) bool {
			return !slices.ContainsFunc(keys, func(k device.Key) bool { return k.Serial == sp.Serial })
		}) {
			return nil
		}
		select {
		case p := <-exited:
			return fmt.Errorf("plugging in the simulated keys (is pcscd with vsmartcard-vpcd running? scripts/pcscd.sh): the key's process ended: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for pcscd to see the simulated keys: %w", ctx.Err())
		case <-tick.C:
		}
	}
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
