//go:build cgo && linux

package scan_test

// Benchmarks through the real pcscd and vpcd with simulated keys. Run with
//
//	go test -run '^$' -bench . -benchtime 20x ./device/scan/
//
// Each reports ms/op (wall) and cpu-ms/op (this process's CPU from
// getrusage). The targets: BenchmarkKeysTwo within 1.3x of BenchmarkKeysOne
// (readers are probed in parallel), BenchmarkKeysOne within 1.25x of
// BenchmarkMinimalClient/one, and BenchmarkArrivalToEvent close to
// BenchmarkArrivalMinimalWaiter (both are bounded below by pcscd's presence
// poll of the virtual reader, PCSCLITE_STATUS_POLL_RATE = 400 ms).

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/scan/macpcsc"
	"github.com/keywizard/keywizard/device/scan/scanbench"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

func benchAttach(b *testing.B, slot int, serial uint32, model string) *scanbench.Attached {
	b.Helper()
	a, err := scanbench.Attach(context.Background(), slot, sim.Config{Serial: serial, Model: model, Firmware: fw571})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Remove() })
	return a
}

func benchKeys(b *testing.B, n int) {
	testenv.LockVPCD(b)
	models := []string{"5c-nano", "5c-nfc"}
	for i := range n {
		benchAttach(b, i, uint32(70000001+i), models[i])
	}
	s := &scan.Scanner{PCSC: scan.System}
	ctx := context.Background()
	scanbench.Measure(b, func() error {
		keys, err := s.Keys(ctx)
		if err == nil && len(keys) != n {
			err = fmt.Errorf("found %d keys, want %d", len(keys), n)
		}
		return err
	})
}

// BenchmarkKeysOne is Scanner.Keys with one simulated key (and vpcd's other
// slot empty).
func BenchmarkKeysOne(b *testing.B) { benchKeys(b, 1) }

// BenchmarkKeysTwo is Scanner.Keys with two simulated keys.
func BenchmarkKeysTwo(b *testing.B) { benchKeys(b, 2) }

// BenchmarkMinimalClient is the floor: connect, SELECT, READ CONFIG,
// disconnect on the readers that hold keys, one after the other on one
// context, no parsing.
func BenchmarkMinimalClient(b *testing.B) {
	testenv.LockVPCD(b)
	for _, n := range []int{1, 2} {
		b.Run([]string{"", "one", "two"}[n], func(b *testing.B) {
			var readers []string
			models := []string{"5c-nano", "5c-nfc"}
			for i := range n {
				benchAttach(b, i, uint32(71000001+i), models[i])
				readers = append(readers, sim.ReaderName(i))
			}
			ctx := context.Background()
			scanbench.Measure(b, func() error { return scanbench.MinimalClient(ctx, readers) })
		})
	}
}

// BenchmarkFastCard repeats the Keys / minimal-client comparison with
// scripted cards that answer within a fraction of a millisecond (the
// simulator behind vpcd pays about 45 ms per command to TCP delayed ACKs),
// so the scanner's own overhead shows.
func BenchmarkFastCard(b *testing.B) {
	testenv.LockVPCD(b)
	ctx := context.Background()
	var readers []string
	for _, n := range []int{1, 2} {
		name := []string{"", "one", "two"}[n]
		// One more card per round: slot 0, then slots 0 and 1.
		f, err := scanbench.AttachFastCard(ctx, n-1, uint32(75000000+n))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Remove()
		readers = append(readers, sim.ReaderName(n-1))
		b.Run("Keys/"+name, func(b *testing.B) {
			s := &scan.Scanner{PCSC: scan.System}
			scanbench.Measure(b, func() error {
				keys, err := s.Keys(ctx)
				if err == nil && len(keys) != n {
					err = fmt.Errorf("found %d keys, want %d", len(keys), n)
				}
				return err
			})
		})
		b.Run("MinimalClient/"+name, func(b *testing.B) {
			scanbench.Measure(b, func() error { return scanbench.MinimalClient(ctx, readers) })
		})
	}
}

// BenchmarkArrivalToEvent times from the simulated key connecting to vpcd
// to the watcher delivering its Arrived event (probe included).
func BenchmarkArrivalToEvent(b *testing.B) {
	testenv.LockVPCD(b)
	a := benchAttach(b, 0, 72000001, "5c-nano")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&scan.Scanner{PCSC: scan.System}).Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	wait := func(kind scan.EventKind) error { return waitEvent(ch, kind, 72000001) }
	if err := wait(scan.Arrived); err != nil {
		b.Fatal(err)
	}
	var t scanbench.Timed
	for b.Loop() {
		a.Att.Detach()
		if err := wait(scan.Left); err != nil {
			b.Fatal(err)
		}
		if err := t.Time(func() error { a.Att.Reattach(); return wait(scan.Arrived) }); err != nil {
			b.Fatal(err)
		}
	}
	t.Report(b)
}

// BenchmarkArrivalMinimalWaiter is the floor for arrivals: a bare
// SCardGetStatusChange loop on the reader, woken when pcscd's poll finds
// the card.
func BenchmarkArrivalMinimalWaiter(b *testing.B) {
	testenv.LockVPCD(b)
	a := benchAttach(b, 0, 73000001, "5c-nano")
	w, err := scanbench.NewArrivalWaiter(sim.ReaderName(0))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	var t scanbench.Timed
	for b.Loop() {
		a.Att.Detach()
		if err := w.Wait(ctx, false); err != nil {
			b.Fatal(err)
		}
		if err := t.Time(func() error { a.Att.Reattach(); return w.Wait(ctx, true) }); err != nil {
			b.Fatal(err)
		}
	}
	t.Report(b)
}

// BenchmarkWatchIdle reports this process's CPU use per second of idling
// with a simulated key attached, without ("baseline": the simulator
// answering vpcd's presence polls) and with a watcher running. The
// difference is the watcher's cost while nothing changes: it must be
// near zero (no polling).
func BenchmarkWatchIdle(b *testing.B) {
	testenv.LockVPCD(b)
	benchAttach(b, 0, 74000001, "5c-nano")
	b.Run("baseline", idle)
	b.Run("watching", func(b *testing.B) { watchIdle(b, scan.System) })
}

// BenchmarkReaderListArrival times from a simulated key connecting to vpcd
// (a USB key being plugged in) to the watcher's Arrived event, with the PnP
// notification reader ("pnp", as on Linux and Windows) and on the
// macOS-like layer (package macpcsc), where the watcher lists the readers:
// often for a few seconds after a change, every DefaultListInterval after. So
// the macOS-like figure is taken twice: "listing", the key plugged in after
// the watcher has idled long enough to list only every DefaultListInterval
// (what a key plugged in at any moment meets), and "listing-replug", the
// key back as soon as the simulator allows after it left (a reboot, a
// replug). "ms/op" and "max-ms" (the slowest arrival) include pcscd
// noticing the virtual card (its presence poll, 400 ms), which a USB key
// does not wait for; "after-service-ms" and "after-service-max-ms" time from
// pcscd reporting the card present (seen by a blocked wait of the
// benchmark's own) to the event, the watcher's own part. Targets for
// "listing": within 1 s on average from the key connecting, and the
// watcher's own part within 1 s for every arrival. Run with a multiple of
// 10 iterations, so the moments the key comes back cover the gap between
// listings evenly.
func BenchmarkReaderListArrival(b *testing.B) {
	testenv.LockVPCD(b)
	a := benchAttach(b, 0, 76000001, "5c-nano")
	for _, mode := range []string{"pnp", "listing", "listing-replug"} {
		b.Run(mode, func(b *testing.B) {
			p := scan.System
			if mode != "pnp" {
				layer := macpcsc.ForSims(scan.System, a.Key)
				defer layer.Close()
				p = layer
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := (&scan.Scanner{PCSC: p}).Watch(ctx)
			if err != nil {
				b.Fatal(err)
			}
			wait := func(kind scan.EventKind) error { return waitEvent(ch, kind, 76000001) }
			if err := wait(scan.Arrived); err != nil {
				b.Fatal(err)
			}
			sc, err := pcsc.Establish()
			if err != nil {
				b.Fatal(err)
			}
			defer sc.Release()
			var total, slowest, after, afterSlowest time.Duration
			n := 0
			for b.Loop() {
				a.Att.Detach()
				if err := wait(scan.Left); err != nil {
					b.Fatal(err)
				}
				// The watcher lists on a schedule that starts at the
				// Left event, so a key put back a fixed time after it
				// always meets the same point between two listings.
				// Spread the moments evenly over the gap between
				// listings instead, as keys plugged in by people are.
				const phases = 10
				switch mode {
				case "listing":
					// Long enough for the watcher to list only every
					// DefaultListInterval again (after the few
					// seconds of frequent listing a change starts).
					time.Sleep(5*scan.DefaultListInterval + time.Duration(n%phases)*scan.DefaultListInterval/phases)
				case "listing-replug":
					time.Sleep(time.Duration(n%phases) * scan.DefaultListInterval / 3 / phases) // the gap just after a change
				}
				// The key connects once the simulator's minimum absence
				// has passed; time from that moment.
				before := a.Att.State().Connects
				connected := make(chan time.Time, 1)
				go func() {
					a.Att.WaitFor(ctx, func(s sim.AttachState) bool { return s.Connects > before })
					connected <- time.Now()
				}()
				seen := make(chan time.Time, 1)
				go func() {
					scanbench.WaitReader(ctx, sc, sim.ReaderName(0), true)
					seen <- time.Now()
				}()
				a.Att.Reattach()
				if err := wait(scan.Arrived); err != nil {
					b.Fatal(err)
				}
				now := time.Now()
				d, w := now.Sub(<-connected), now.Sub(<-seen)
				total, slowest = total+d, max(slowest, d)
				after, afterSlowest = after+w, max(afterSlowest, w)
				n++
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(total)/float64(n), "ms/op")
			b.ReportMetric(ms(slowest), "max-ms")
			b.ReportMetric(ms(after)/float64(n), "after-service-ms")
			b.ReportMetric(ms(afterSlowest), "after-service-max-ms")
		})
	}
}

// BenchmarkReaderListIdle reports the CPU used per second of idling with a
// simulated key attached, by this process and by pcscd (see idleCPU), in
// three modes: "baseline" (no watcher: the simulator answering vpcd's
// presence polls, pcscd polling the virtual reader), "pnp" (a watcher on
// the real pcscd, blocked in SCardGetStatusChange with the PnP notification
// reader and no timeout, as on Linux and Windows) and "listing" (a watcher
// on the macOS-like layer, blocked on the known reader while it lists the
// readers every DefaultListInterval on a second context; the layer's own
// follower is one more blocked wait). Each iteration is one round: the three
// modes in turn, idleRound each, so a change in the machine's load falls on
// all three alike. Run with -benchtime 6x for 60 s of each. It reports, per
// mode, the mean over the rounds ("MODE-cpu-ms/idle-s",
// "MODE-pcscd-ms/idle-s") and the lowest and highest round of this
// process's figure ("MODE-min-cpu-ms/idle-s", "MODE-max-cpu-ms/idle-s"),
// which show how far two measurements of the same thing differ. Target for
// both watchers: no measurable difference from the baseline.
func BenchmarkReaderListIdle(b *testing.B) {
	testenv.LockVPCD(b)
	a := benchAttach(b, 0, 77000001, "5c-nano")
	type total struct {
		cpu, service []float64
	}
	modes := []string{"baseline", "pnp", "listing"}
	totals := map[string]*total{}
	for _, m := range modes {
		totals[m] = &total{}
	}
	for b.Loop() {
		for _, m := range modes {
			var cpu, service time.Duration
			switch m {
			case "baseline":
				cpu, service = idleCPU(b, idleRound)
			case "pnp":
				cpu, service = watchRound(b, scan.System)
			case "listing":
				layer := macpcsc.ForSims(scan.System, a.Key)
				cpu, service = watchRound(b, layer)
				layer.Close()
			}
			t := totals[m]
			t.cpu = append(t.cpu, perSecond(cpu, idleRound))
			t.service = append(t.service, perSecond(service, idleRound))
		}
	}
	for _, m := range modes {
		t := totals[m]
		b.ReportMetric(mean(t.cpu), m+"-cpu-ms/idle-s")
		b.ReportMetric(slices.Min(t.cpu), m+"-min-cpu-ms/idle-s")
		b.ReportMetric(slices.Max(t.cpu), m+"-max-cpu-ms/idle-s")
		b.ReportMetric(mean(t.service), m+"-pcscd-ms/idle-s")
	}
}

// idleRound is how long each mode of BenchmarkReaderListIdle idles per
// round.
const idleRound = 10 * time.Second

// watchRound starts a watcher on p, takes the key already in, lets the
// card settle, measures idleCPU for idleRound and stops the watcher.
func watchRound(b *testing.B, p scan.PCSC) (cpu, service time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := (&scan.Scanner{PCSC: p}).Watch(ctx)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	<-ch // the key already in
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	// pcscd powers an idle card down a while after the watcher's
	// probe, and a watcher that lists lists often for a few seconds
	// after a change (its start is one); let both pass before measuring.
	time.Sleep(5 * scan.DefaultListInterval)
	cpu, service = idleCPU(b, idleRound)
	cancel()
	<-done // the watcher has released its contexts
	return cpu, service
}

func perSecond(d, over time.Duration) float64 {
	return float64(d.Microseconds()) / 1000 / over.Seconds()
}

func mean(vs []float64) float64 {
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// idleCPU sleeps for d and returns the CPU this process and pcscd used
// meanwhile. pcscd's figure matters because a watcher that polls makes
// the service work too, which this process's figure does not show; pcscd
// serves every program on the machine, so it also holds what other
// programs asked of it meanwhile.
func idleCPU(b *testing.B, d time.Duration) (cpu, service time.Duration) {
	s0, err := scanbench.ReadServiceCPU()
	if err != nil {
		b.Fatal(err)
	}
	c0 := scanbench.CPUTime()
	time.Sleep(d)
	cpu = scanbench.CPUTime() - c0
	s1, err := scanbench.ReadServiceCPU()
	if err != nil {
		b.Fatal(err)
	}
	return cpu, s1.Since(s0)
}

// watchIdle runs a watcher on p, takes the key already in, and measures
// idle.
func watchIdle(b *testing.B, p scan.PCSC) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&scan.Scanner{PCSC: p}).Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	<-ch // the key already in
	go func() {
		for range ch {
		}
	}()
	// pcscd powers an idle card down a while after the watcher's
	// probe; let that state change pass before measuring.
	time.Sleep(2 * time.Second)
	idle(b)
}

// idle reports, per second of sleeping (one second per iteration), this
// process's CPU ("cpu-ms/idle-s") and pcscd's ("pcscd-ms/idle-s"; see
// idleCPU).
func idle(b *testing.B) {
	var cpu, service time.Duration
	for b.Loop() {
		c, s := idleCPU(b, time.Second)
		cpu += c
		service += s
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/idle-s")
	b.ReportMetric(float64(service.Microseconds())/1000/float64(b.N), "pcscd-ms/idle-s")
}

// waitEvent receives the watcher's next event, which must be kind for the
// key with serial.
func waitEvent(ch <-chan scan.Event, kind scan.EventKind, serial uint32) error {
	select {
	case e := <-ch:
		if e.Kind != kind || e.Key.Serial != serial {
			return fmt.Errorf("event %v serial %d err %v, want %v", e.Kind, e.Key.Serial, e.Err, kind)
		}
		return nil
	case <-time.After(scanbench.Guard):
		return scanbench.ErrNoEvent
	}
}
