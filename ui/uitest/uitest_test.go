package uitest

import (
	"sync"
	"testing"

	"fyne.io/fyne/v2"
)

// TestDoRunsOneAtATime fails under -race if two fyne.Do functions run at
// once: they share a counter with no lock of their own.
func TestDoRunsOneAtATime(t *testing.T) {
	NewTempApp(t)
	var n, running, most int
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fyne.Do(func() {
					running++
					most = max(most, running)
					n++
					running--
				})
			}
		}()
	}
	wg.Wait()
	fyne.DoAndWait(func() {}) // after everything queued before
	if n != 800 || most != 1 {
		t.Fatalf("ran %d functions, at most %d at once; want 800, 1", n, most)
	}
}

// TestNestedDoRunsInline: a function under fyne.Do that calls fyne.DoAndWait
// (a wizard callback rendering from inside a render) must not deadlock.
func TestNestedDoRunsInline(t *testing.T) {
	NewTempApp(t)
	ran := false
	fyne.DoAndWait(func() { fyne.DoAndWait(func() { ran = true }) })
	if !ran {
		t.Fatal("the nested function did not run")
	}
}

// TestDoKeepsOrder: functions handed over from one goroutine run in that
// order, whether they were queued behind another goroutine or not, and
// fyne.DoAndWait runs after everything handed over before it.
func TestDoKeepsOrder(t *testing.T) {
	NewTempApp(t)
	var got []int
	release := make(chan struct{})
	held := make(chan struct{})
	go fyne.DoAndWait(func() { close(held); <-release }) // another goroutine holds the lock
	<-held
	for i := range 5 {
		fyne.Do(func() { got = append(got, i) }) // queued: must not wait
	}
	close(release)
	fyne.DoAndWait(func() { got = append(got, 5) })
	for i, v := range got {
		if v != i {
			t.Fatalf("ran in order %v, want 0..5", got)
		}
	}
	if len(got) != 6 {
		t.Fatalf("ran %v, want 0..5", got)
	}
}
