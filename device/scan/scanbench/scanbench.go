//go:build cgo && linux

// Package scanbench holds what the scanner's integration tests and
// benchmarks share, exported so the lead's comparisons (ykman,
// `keywizard keys --json`) can reuse them: attaching simulated keys to the
// real pcscd through vpcd, waiting for pcscd to see a slot change, the
// minimal PC/SC client that is the floor for discovery, the bare
// GetStatusChange waiter that is the floor for arrival events, and a
// measurement helper reporting wall and CPU time per operation.
//
// Everything here talks to the machine-wide vpcd slots: callers hold
// testenv.LockVPCD.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package scanbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/pcsc/vpcdtest"
	"github.com/keywizard/keywizard/device/sim"
)

// Guard bounds waits on pcscd so a broken setup fails instead of hanging.
const Guard = 20 * time.Second

// WaitSlot waits, event-driven, until pcscd reports vpcd slot's card
// presence as present.
func WaitSlot(ctx context.Context, slot int, present bool) error {
	c, err := pcsc.Establish()
	if err != nil {
		return err
	}
	defer c.Release()
	return WaitReader(ctx, c, sim.ReaderName(slot), present)
}

// WaitReader waits on c until reader's card presence is present.
func WaitReader(ctx context.Context, c *pcsc.Context, reader string, present bool) error {
	ctx, cancel := context.WithTimeout(ctx, Guard)
	defer cancel()
	st := []pcsc.ReaderState{{Reader: reader}}
	for {
		if err := c.GetStatusChange(ctx, st); err != nil {
			return fmt.Errorf("waiting for %q present=%v: %w", reader, present, err)
		}
		if st[0].EventState.Present() == present && st[0].EventState&pcsc.StateMute == 0 {
			return nil
		}
		st[0].CurrentState = st[0].EventState
	}
}

// Attached is a simulated key in a vpcd slot.
type Attached struct {
	Key    *sim.Key
	Att    *sim.Attachment
	Slot   int
	cancel context.CancelFunc
}

// Attach creates a simulated key, waits for the slot to be empty in pcscd's
// eyes (a card removed just before may not be noticed yet), inserts the key
// and waits until pcscd has it.
func Attach(ctx context.Context, slot int, cfg sim.Config) (*Attached, error) {
	k, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := WaitSlot(ctx, slot, false); err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancel(context.Background())
	a, err := sim.Attach(actx, k, slot)
	if err != nil {
		cancel()
		return nil, err
	}
	at := &Attached{Key: k, Att: a, Slot: slot, cancel: cancel}
	if err := WaitSlot(ctx, slot, true); err != nil {
		at.Remove()
		return nil, err
	}
	return at, nil
}

// Remove unplugs the key for good and waits until pcscd sees the slot empty.
func (a *Attached) Remove() error {
	a.cancel()
	<-a.Att.Done()
	return WaitSlot(context.Background(), a.Slot, false)
}

// selectMgmt and readConfig are the two commands discovery sends, in the
// bytes mgmt sends them (docs/yubikey-protocol.md §1.1, §1.2 ykman 5.x form).
var (
	selectMgmt = []byte{0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}
	readConfig = []byte{0x00, 0x1D, 0x00, 0x00}
)

// MinimalClient is the floor for discovery: one PC/SC context, then for each
// reader in turn a shared connection, SELECT management, READ CONFIG and a
// disconnect, checking only the status words. It does what Scanner.Keys
// must do at the least, with no parsing and no concurrency.
func MinimalClient(ctx context.Context, readers []string) error {
	c, err := pcsc.Establish()
	if err != nil {
		return err
	}
	defer c.Release()
	for _, r := range readers {
		card, err := c.Connect(ctx, r, false)
		if err != nil {
			return err
		}
		for _, cmd := range [][]byte{selectMgmt, readConfig} {
			resp, err := card.Transmit(ctx, cmd)
			if err != nil {
				card.Close()
				return err
			}
			if len(resp) < 2 || resp[len(resp)-2] != 0x90 || resp[len(resp)-1] != 0x00 {
				card.Close()
				return fmt.Errorf("reader %q: status % X", r, resp[len(resp)-2:])
			}
		}
		if err := card.Close(); err != nil {
			return err
		}
	}
	return nil
}

// CPUTime is the process's user plus system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ServiceCPU is a snapshot of pcscd's CPU time, thread by thread, read
// from /proc/PID/task/TID/schedstat (its first field is the thread's time
// on the CPU in nanoseconds; proc(5)). /proc/PID/stat's utime and stime are
// in clock ticks (10 ms here), too coarse for a cost of a fraction of a
// millisecond per second. pcscd serves each client context on a thread of
// its own, so what a watcher makes pcscd do is on threads that outlive a
// measurement.
type ServiceCPU map[string]time.Duration

// PCSCDPidFile is where pcscd writes its process id (pcsc-lite's
// PCSCLITE_RUN_PID on Debian).
const PCSCDPidFile = "/run/pcscd/pcscd.pid"

// ReadServiceCPU takes a ServiceCPU snapshot of pcscd.
func ReadServiceCPU() (ServiceCPU, error) {
	pid, err := os.ReadFile(PCSCDPidFile)
	if err != nil {
		return nil, fmt.Errorf("finding pcscd: %w", err)
	}
	// pcscd writes the number with a newline and a NUL after it.
	n, err := strconv.Atoi(strings.TrimRight(string(pid), "\x00\n "))
	if err != nil {
		return nil, fmt.Errorf("finding pcscd: %s: %w", PCSCDPidFile, err)
	}
	dir := filepath.Join("/proc", strconv.Itoa(n), "task")
	tids, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing pcscd's threads: %w", err)
	}
	out := ServiceCPU{}
	for _, t := range tids {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading pcscd thread %s: %w", t.Name(), err)
		}
		out[t.Name()] = time.Duration(ns)
	}
	return out, nil
}

// Since is pcscd's CPU time from earlier to s: what threads alive at both
// snapshots used in between, plus the whole time of threads started since.
// Threads that started and ended in between (other programs' short
// connections) are not counted.
func (s ServiceCPU) Since(earlier ServiceCPU) time.Duration {
	var d time.Duration
	for tid, now := range s {
		d += now - earlier[tid]
	}
	return d
}

// Measure runs op b.N times (b.Loop) and reports ms/op (wall) and
// cpu-ms/op (this process's CPU, from getrusage deltas). op's error fails
// the benchmark.
func Measure(b *testing.B, op func() error) {
	b.Helper()
	cpu0, t0 := CPUTime(), time.Now()
	n := 0
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n == 0 {
		return
	}
	wall, cpu := time.Since(t0), CPUTime()-cpu0
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(n), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
}

// Timed accumulates per-iteration timings for benchmarks whose timed part
// is only a slice of each iteration (an arrival, not the setup before it).
type Timed struct {
	wall, cpu time.Duration
	n         int
}

// Time runs f and adds its wall and CPU time.
func (t *Timed) Time(f func() error) error {
	cpu0, t0 := CPUTime(), time.Now()
	err := f()
	t.wall += time.Since(t0)
	t.cpu += CPUTime() - cpu0
	t.n++
	return err
}

// Report reports ms/op and cpu-ms/op over the timed slices.
func (t *Timed) Report(b *testing.B) {
	if t.n == 0 {
		return
	}
	b.ReportMetric(float64(t.wall.Microseconds())/1000/float64(t.n), "ms/op")
	b.ReportMetric(float64(t.cpu.Microseconds())/1000/float64(t.n), "cpu-ms/op")
}

// ArrivalWaiter is the floor for arrival events: a bare SCardGetStatusChange
// loop on one reader, which pcscd wakes when its presence poll of the
// virtual reader finds the card.
type ArrivalWaiter struct {
	c      *pcsc.Context
	reader string
}

// NewArrivalWaiter opens a context for waiting on reader.
func NewArrivalWaiter(reader string) (*ArrivalWaiter, error) {
	c, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	return &ArrivalWaiter{c: c, reader: reader}, nil
}

// Wait blocks until the reader's presence is present.
func (w *ArrivalWaiter) Wait(ctx context.Context, present bool) error {
	return WaitReader(ctx, w.c, w.reader, present)
}

// Close releases the context.
func (w *ArrivalWaiter) Close() error { return w.c.Release() }

// ErrNoEvent is returned by helpers that give up waiting for an event.
var ErrNoEvent = errors.New("no event before the guard expired")

// FastCard is a scripted YubiKey stand-in behind vpcd that answers the two
// discovery commands with a real key's bytes (docs/yubikey-protocol.md §7.3: a
// YubiKey 5 NFC, firmware 5.4.3) and sets TCP_QUICKACK (see vpcdtest), so
// each command costs a fraction of a millisecond. With it the benchmarks
// show the scanner's own overhead rather than the transport's.
type FastCard struct {
	Card *vpcdtest.Card
	Slot int
}

// fastInfo is §7.3's READ CONFIG response with the serial replaced.
func fastInfo(serial uint32) []byte {
	return []byte{0x2B, 0x01, 0x02, 0x02, 0x3F, 0x03, 0x02, 0x02, 0x3F,
		0x02, 0x04, byte(serial >> 24), byte(serial >> 16), byte(serial >> 8), byte(serial),
		0x04, 0x01, 0x01, 0x05, 0x03, 0x05, 0x04, 0x03, 0x06, 0x02, 0x00, 0x00, 0x07, 0x01, 0x0F,
		0x08, 0x01, 0x00, 0x0D, 0x02, 0x02, 0x3F, 0x0E, 0x02, 0x02, 0x3F, 0x0A, 0x01, 0x00, 0x90, 0x00}
}

// AttachFastCard inserts a FastCard with serial into slot and waits until
// pcscd has it.
func AttachFastCard(ctx context.Context, slot int, serial uint32) (*FastCard, error) {
	if err := WaitSlot(ctx, slot, false); err != nil {
		return nil, err
	}
	info := fastInfo(serial)
	sel := append([]byte("Virtual mgr - FW version 5.4.3"), 0x90, 0x00)
	c, err := vpcdtest.Attach(context.Background(), slot, vpcdtest.YubiKeyATR, func(cmd []byte) []byte {
		switch {
		case len(cmd) >= 4 && cmd[1] == 0xA4:
			return sel
		case len(cmd) >= 4 && cmd[1] == 0x1D:
			return info
		}
		return []byte{0x6D, 0x00}
	})
	if err != nil {
		return nil, err
	}
	f := &FastCard{Card: c, Slot: slot}
	if err := WaitSlot(ctx, slot, true); err != nil {
		f.Remove()
		return nil, err
	}
	return f, nil
}

// Remove pulls the card and waits until pcscd sees the slot empty.
func (f *FastCard) Remove() error {
	f.Card.Remove()
	return WaitSlot(context.Background(), f.Slot, false)
}
