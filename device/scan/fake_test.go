package scan

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/sim"
)

// fakePCSC is an in-memory PC/SC service with pcsc-lite's event semantics:
// each reader has a presence flag and an event counter bumped on every
// insertion and removal; the PnP pseudo-reader reports a reader-list counter
// in its upper 16 bits (pcsc-lite >= 2.3 behaviour). GetStatusChange blocks
// on a channel until something changes or ctx is done: no polling.
type fakePCSC struct {
	mu       sync.Mutex
	order    []string
	slots    map[string]*fakeSlot
	listGen  uint16
	changed  chan struct{}
	contexts int   // established minus released
	waiting  int   // callers blocked in GetStatusChange
	calls    int   // GetStatusChange calls so far
	waitErr  error // if set, GetStatusChange fails with it
	// noPnP makes the PnP pseudo-reader unknown, as Apple's PC/SC reports
	// it (UNKNOWN|CHANGED at once); readers then appear only in listings.
	noPnP bool
	// stops: the service stops when its last reader goes (Windows);
	// down: it is stopped now (Establish and every call fail).
	stops, down bool
	lists       int // Readers calls so far
	pnpCalls    int // GetStatusChange calls that included the PnP reader
}

type fakeSlot struct {
	present bool
	// others: flags another program's connection adds to the state word
	// (SCARD_STATE_INUSE, SCARD_STATE_EXCLUSIVE).
	others  pcsc.State
	counter uint16
	open    func() (device.Card, error) // the card in it
}

func newFakePCSC() *fakePCSC {
	return &fakePCSC{slots: map[string]*fakeSlot{}, listGen: 1, changed: make(chan struct{})}
}

// notify wakes waiters; call with f.mu held.
func (f *fakePCSC) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakePCSC) addReader(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, name)
	f.slots[name] = &fakeSlot{}
	f.listGen++
	f.notify()
}

func (f *fakePCSC) removeReader(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, n := range f.order {
		if n == name {
			f.order = append(f.order[:i:i], f.order[i+1:]...)
		}
	}
	delete(f.slots, name)
	f.listGen++
	f.notify()
}

// insert puts a card into reader (adding the reader if needed).
func (f *fakePCSC) insert(reader string, open func() (device.Card, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.slots[reader]
	if !ok {
		f.order = append(f.order, reader)
		s = &fakeSlot{}
		f.slots[reader] = s
		f.listGen++
	}
	s.present, s.open = true, open
	s.counter++
	f.notify()
}

func (f *fakePCSC) insertKey(reader string, k *sim.Key) {
	k.Plug()
	f.insert(reader, func() (device.Card, error) { return k.Card(), nil })
}

func (f *fakePCSC) remove(reader string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.slots[reader]
	s.present, s.open = false, nil
	s.counter++
	f.notify()
}

// waiters reports how many callers are blocked in GetStatusChange.
func (f *fakePCSC) waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}

func (f *fakePCSC) StopsWithoutReaders() bool { return f.stops }

func (f *fakePCSC) Establish() (Context, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, &pcsc.Error{Code: pcsc.CodeNoService}
	}
	f.contexts++
	return &fakeContext{f: f}, nil
}

type fakeContext struct {
	f        *fakePCSC
	released bool
}

func (c *fakeContext) Release() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if !c.released {
		c.released = true
		c.f.contexts--
	}
	return nil
}

func (c *fakeContext) Readers() ([]string, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.lists++
	if c.f.down {
		return nil, &pcsc.Error{Code: pcsc.CodeServiceStopped}
	}
	return append([]string{}, c.f.order...), nil
}

func (c *fakeContext) Connect(ctx context.Context, reader string, exclusive bool) (device.Card, error) {
	c.f.mu.Lock()
	s, ok := c.f.slots[reader]
	var open func() (device.Card, error)
	if ok && s.present {
		open = s.open
	}
	c.f.mu.Unlock()
	switch {
	case !ok:
		return nil, &pcsc.Error{Code: pcsc.CodeUnknownReader}
	case open == nil:
		return nil, &pcsc.Error{Code: pcsc.CodeNoSmartcard}
	}
	return open()
}

func (c *fakeContext) state(reader string) (pcsc.State, bool) {
	if reader == pcsc.PnPNotification {
		return pcsc.State(uint32(c.f.listGen) << 16), true
	}
	s, ok := c.f.slots[reader]
	if !ok {
		return pcsc.StateUnknown | pcsc.StateChanged, false
	}
	st := pcsc.StateEmpty
	if s.present {
		st = pcsc.StatePresent | s.others
	}
	return st | pcsc.State(uint32(s.counter)<<16), true
}

func (c *fakeContext) GetStatusChange(ctx context.Context, states []pcsc.ReaderState) error {
	c.f.mu.Lock()
	c.f.calls++
	if c.f.waitErr != nil {
		err := c.f.waitErr
		c.f.mu.Unlock()
		return err
	}
	if c.f.down {
		c.f.mu.Unlock()
		return &pcsc.Error{Code: pcsc.CodeServiceStopped}
	}
	for _, st := range states {
		if st.Reader == pcsc.PnPNotification {
			c.f.pnpCalls++
		}
	}
	if c.f.noPnP {
		for i := range states {
			if states[i].Reader == pcsc.PnPNotification {
				for j := range states {
					states[j].EventState = states[j].CurrentState
				}
				states[i].EventState = pcsc.StateUnknown | pcsc.StateChanged
				c.f.mu.Unlock()
				return nil
			}
		}
	}
	for _, st := range states {
		if _, ok := c.f.slots[st.Reader]; !ok && st.Reader != pcsc.PnPNotification {
			c.f.mu.Unlock()
			return &pcsc.Error{Code: pcsc.CodeUnknownReader}
		}
	}
	startGen := c.f.listGen // pcsc-lite also wakes on a reader-list change during the call
	for {
		any := false
		for i := range states {
			st := &states[i]
			now, _ := c.state(st.Reader)
			var differs bool
			if st.Reader == pcsc.PnPNotification {
				prev := st.CurrentState.Count()
				differs = prev != 0 && prev != now.Count() || now.Count() != startGen
			} else {
				differs = st.CurrentState == pcsc.StateUnaware || st.CurrentState.Flags()&^pcsc.StateChanged != now.Flags() || st.CurrentState.Count() != now.Count()
			}
			st.EventState = now
			if differs {
				st.EventState |= pcsc.StateChanged
				any = true
			}
		}
		if any {
			c.f.mu.Unlock()
			return nil
		}
		ch := c.f.changed
		c.f.waiting++
		c.f.mu.Unlock()
		select {
		case <-ch:
			if c.f.down {
				c.f.mu.Lock()
				c.f.waiting--
				c.f.mu.Unlock()
				return &pcsc.Error{Code: pcsc.CodeServiceStopped}
			}
			if c.f.waitErr != nil {
				c.f.mu.Lock()
				c.f.waiting--
				c.f.mu.Unlock()
				return c.f.waitErr
			}
		case <-ctx.Done():
			c.f.mu.Lock()
			c.f.waiting--
			c.f.mu.Unlock()
			return ctx.Err()
		}
		c.f.mu.Lock()
		c.f.waiting--
		for _, st := range states {
			if _, ok := c.f.slots[st.Reader]; !ok && st.Reader != pcsc.PnPNotification {
				// A followed reader vanished: report it as pcsc-lite does.
				for i := range states {
					now, _ := c.state(states[i].Reader)
					states[i].EventState = now
				}
				c.f.mu.Unlock()
				return nil
			}
		}
	}
}

// scriptedCard answers every command with resp.
// GetStatusChangeTimeout is GetStatusChange bounded by timeout, which then
// fails with SCARD_E_TIMEOUT as the real service does.
func (c *fakeContext) GetStatusChangeTimeout(ctx context.Context, states []pcsc.ReaderState, timeout time.Duration) error {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := c.GetStatusChange(tctx, states)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return &pcsc.Error{Code: pcsc.CodeTimeout}
	}
	return err
}

type scriptedCard struct {
	resp []byte
	err  error
}

func (c *scriptedCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	return append([]byte(nil), c.resp...), nil
}
func (c *scriptedCard) Close() error { return nil }

// fakeClock fires After channels only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []chan time.Time
	added   chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), added: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.pending = append(c.pending, ch)
	c.added <- struct{}{}
	return ch
}

// fireAll fires every pending timer.
func (c *fakeClock) fireAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.pending {
		ch <- c.now
	}
	c.pending = nil
}

func newKey(t *testing.T, serial uint32, model string, fw device.Version) *sim.Key {
	t.Helper()
	k, err := sim.New(sim.Config{Serial: serial, Model: model, Firmware: fw})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var errInUseValue = &pcsc.Error{Code: pcsc.CodeSharingViolation}

func errInUse() error { return errInUseValue }
