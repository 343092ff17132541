// Package uitest gives tests a Fyne app whose fyne.Do and fyne.DoAndWait
// behave as a real driver's do: the functions handed over run one at a
// time, in the order they were handed over, and fyne.Do never waits.
//
// Fyne's test driver runs them inline on whichever goroutine calls them, at
// once (fyne.io/fyne/v2 test/driver.go, DoFromGoroutine: "Tests all run on a
// single … thread"). keywizard's UI starts wizard actions on their own
// goroutines and updates widgets from there through fyne.Do, so under the
// test driver an action finishing in the background updated widgets while
// the test goroutine read them or while another action's update ran: a data
// race (`go test -race` reports it) and screens that depended on the
// scheduler. Here every function handed over runs holding one lock, as a
// real driver runs them one after another on its main goroutine
// (fyne.io/fyne/v2 internal/driver/glfw/loop.go, runOnMainWithWait: one
// queue). fyne.Do queues its function when another goroutine holds the
// lock, and whoever holds it runs the queue before letting go, so a
// goroutine handing over a snapshot never waits for the test (a real
// driver's fyne.Do does not wait either). fyne.DoAndWait runs what was
// queued before its own function. A function that hands over another runs
// it inline, as the main goroutine would.
//
// Tests deliver taps and typing inside fyne.DoAndWait, as a real driver
// delivers input on its main goroutine, and reach a settled state
// (ui.UI.Settle or Wait) before reading the screen, as a person can only
// tap what is on it. Whatever a test started must have stopped when it
// ends (ui.UI.Close): something handed over afterwards panics, naming the
// leak, instead of drawing while the next test resets Fyne's caches.
package uitest

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// NewTempApp is test.NewTempApp with fyne.Do serialised; it becomes the
// current app until the test ends.
func NewTempApp(t testing.TB) fyne.App {
	a := &app{App: test.NewTempApp(t)}
	a.drv = &driver{Driver: a.App.Driver(), test: t.Name()}
	fyne.SetCurrentApp(a)
	// Registered after test.NewTempApp's clean-up, which resets Fyne's
	// caches, so it runs before it.
	t.Cleanup(func() {
		a.drv.ended.Store(true)
		a.drv.mu.Lock()
		defer a.drv.mu.Unlock()
		a.drv.drain() // what was handed over before the end still runs
	})
	return a
}

type app struct {
	fyne.App
	drv *driver
}

func (a *app) Driver() fyne.Driver { return a.drv }

type driver struct {
	fyne.Driver
	test  string
	mu    sync.Mutex   // held while functions handed over run
	owner atomic.Int64 // the goroutine holding mu; 0 when none
	ended atomic.Bool  // the test has ended

	qmu   sync.Mutex
	queue []func() // handed to fyne.Do while another goroutine held mu
}

// DoFromGoroutine runs f holding the driver's lock, after what was queued
// before it; inline when the calling goroutine already holds the lock.
// Without wait, when another goroutine holds the lock, f is queued for it.
func (d *driver) DoFromGoroutine(f func(), wait bool) {
	id := goroutineID()
	if d.owner.Load() == id {
		f()
		return
	}
	if d.ended.Load() {
		panic("uitest: a function was handed to fyne.Do after test " + d.test +
			" ended: a goroutine it started outlived it (close the UI, ui.UI.Close, in t.Cleanup)")
	}
	if wait {
		d.mu.Lock()
		d.runHeld(id, f)
	} else {
		d.qmu.Lock()
		d.queue = append(d.queue, f)
		d.qmu.Unlock()
		if !d.mu.TryLock() {
			return // the holder runs it before letting go
		}
		d.runHeld(id, nil)
	}
	// Queued by others while this goroutine let go: they could not take
	// the lock, so they left it to whoever had it.
	for d.pending() && d.mu.TryLock() {
		d.runHeld(id, nil)
	}
}

// runHeld runs, with mu held by goroutine id, the queue and then f, and
// lets go of mu (also when f ends the goroutine, as t.Fatal does).
func (d *driver) runHeld(id int64, f func()) {
	d.owner.Store(id)
	defer func() {
		d.owner.Store(0)
		d.mu.Unlock()
	}()
	d.drain()
	if f != nil {
		f()
		d.drain()
	}
}

// drain runs the queue in order, with mu held.
func (d *driver) drain() {
	for {
		d.qmu.Lock()
		if len(d.queue) == 0 {
			d.qmu.Unlock()
			return
		}
		f := d.queue[0]
		d.queue = d.queue[1:]
		d.qmu.Unlock()
		f()
	}
}

func (d *driver) pending() bool {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return len(d.queue) > 0
}

// goroutineID is the calling goroutine's number, from the first line of its
// stack trace ("goroutine 42 [running]:"); Go has no other way to ask.
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic("uitest: cannot read the goroutine's number: " + err.Error())
	}
	return id
}

// Walk calls f on o and on every object under it, widgets' rendered
// children included, for tests that read what a window shows. Call it on
// Fyne's goroutine (inside fyne.DoAndWait). It reads the renderers the
// window itself uses (test.WidgetRenderer), never test.TempWidgetRenderer:
// that one destroys each renderer in a t.Cleanup, which runs on the test's
// goroutine outside this driver's lock while the wizard may still be
// drawing (a fatal concurrent map write in Fyne's renderer cache).
func Walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			Walk(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			Walk(c, f)
		}
	}
}
