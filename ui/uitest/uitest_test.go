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
