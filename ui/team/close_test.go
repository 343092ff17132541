package team

import (
	"context"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/ui/uitest"
)

// observedCtx is a context that tells, once, that its Err was asked: the
// fetch goroutine asks it when its answer is in, so a test can end the
// context right after the fetch found the window still open.
type observedCtx struct {
	context.Context
	asked chan struct{}
	once  sync.Once
}

func (c *observedCtx) Err() error {
	err := c.Context.Err()
	c.once.Do(func() { close(c.asked) })
	return err
}

// heldSource answers once released.
type heldSource struct{ called, release chan struct{} }

func (s *heldSource) Team(context.Context) (tracker.TeamView, error) {
	close(s.called)
	<-s.release
	return fiveTeam(), nil
}

// TestWaitOnFynesGoroutine: the window ends the view's context and waits
// for its fetches (Wait) on Fyne's goroutine when it closes. A fetch whose
// answer came in just before must then stop rather than wait for Fyne's
// goroutine to show it, or each would wait for the other; its answer is
// not shown.
func TestWaitOnFynesGoroutine(t *testing.T) {
	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	src := &heldSource{called: make(chan struct{}), release: make(chan struct{})}
	v := New(w, src, Options{})
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &observedCtx{Context: base, asked: make(chan struct{})}
	fyne.DoAndWait(func() { v.Start(ctx) })
	<-src.called
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		fyne.DoAndWait(func() { // the window closing, on Fyne's goroutine
			close(src.release)
			<-ctx.asked // the answer is in and the window was still open
			cancel()
			v.Wait()
		})
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("Wait on Fyne's goroutine never returned: the fetch waited for Fyne's goroutine to show its answer")
	}
	var title string
	fyne.DoAndWait(func() { title = v.Title.Text })
	if title == "Team of Maria Lopez" {
		t.Error("the answer was shown after the view's context ended")
	}
}
