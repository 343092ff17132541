// Package uitest gives tests a Fyne app whose fyne.Do and fyne.DoAndWait run
// one function at a time, as a real driver runs them one after another on
// its main goroutine.
//
// Fyne's test driver runs them inline on whichever goroutine calls them, at
// once (fyne.io/fyne/v2 test/driver.go, DoFromGoroutine: "Tests all run on a
// single … thread"). keywizard's UI starts wizard actions on their own
// goroutines and updates widgets from there through fyne.Do, so under the
// test driver an action finishing in the background updated widgets while
// the test goroutine read them or while another action's update ran: a data
// race (`go test -race` reports it) and screens that depended on the
// scheduler. Here every function handed to fyne.Do or fyne.DoAndWait holds
// one lock while it runs; a function that calls fyne.Do again runs the inner
// one inline, as the real driver does on its main goroutine.
//
// Tests must still reach a settled state (ui.UI.Wait or Settle) before
// tapping, as a person can only tap what is on the screen.
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
//
// When the test ends, functions handed to fyne.Do afterwards (by goroutines
// the test started and that have not noticed yet, such as a wizard's key
// watch) are dropped, as a real driver drops them once the app has quit:
// test.NewTempApp's own clean-up then resets Fyne's caches, and a render
// running beside that reset corrupts them (a fatal concurrent map write).
func NewTempApp(t testing.TB) fyne.App {
	a := &app{App: test.NewTempApp(t)}
	a.drv = &driver{Driver: a.App.Driver()}
	fyne.SetCurrentApp(a)
	// Registered after test.NewTempApp's clean-up, so it runs before it.
	t.Cleanup(func() {
		a.drv.mu.Lock()
		a.drv.closed = true
		a.drv.mu.Unlock()
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
	mu     sync.Mutex   // held while a function handed to fyne.Do runs
	owner  atomic.Int64 // the goroutine holding mu; 0 when none
	closed bool         // the test has ended: drop what is handed over; under mu
}

// DoFromGoroutine runs f holding the driver's lock, or inline when the
// calling goroutine already holds it (f was called from inside another
// function running under fyne.Do). It always waits for f, as the test
// driver does.
func (d *driver) DoFromGoroutine(f func(), _ bool) {
	id := goroutineID()
	if d.owner.Load() == id {
		f()
		return
	}
	d.mu.Lock()
	d.owner.Store(id)
	defer func() {
		d.owner.Store(0)
		d.mu.Unlock()
	}()
	if d.closed {
		return
	}
	f()
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
// children included, for tests that read what a window shows.
func Walk(t *testing.T, o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			Walk(t, c, f)
		}
	case fyne.Widget:
		for _, c := range test.TempWidgetRenderer(t, v).Objects() {
			Walk(t, c, f)
		}
	}
}
