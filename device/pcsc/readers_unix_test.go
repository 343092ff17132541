//go:build cgo && linux

package pcsc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestReadersGrowsItsBuffer: Readers lists into a buffer kept between calls;
// when the list does not fit, pcscd answers SCARD_E_INSUFFICIENT_BUFFER and
// Readers must grow the buffer and still return the whole list. vpcd's two
// readers are always listed, so the list is known to need more than 8 bytes.
func TestReadersGrowsItsBuffer(t *testing.T) {
	testenv.RequirePCSCD(t)
	c, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	want, err := c.Readers()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 {
		t.Fatalf("pcscd lists %q, want vpcd's two readers at least", want)
	}
	for _, size := range []int{1, 8, 20} {
		c.ShrinkListBuffer(size)
		got, err := c.Readers()
		if err != nil {
			t.Fatalf("buffer of %d bytes: %v", size, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("buffer of %d bytes: listed %q, want %q", size, got, want)
		}
	}
}

// TestWaitReadersChange drives the C listing loop against the real pcscd.
// vpcd's readers never come and go, so a change is made by waiting for a
// list that is not the real one: the loop must then return the real list
// at its first listing (also when that listing outgrows the kept buffer).
// A nudge ends a wait on the real list; otherwise only its context ends it.
func TestWaitReadersChange(t *testing.T) {
	testenv.RequirePCSCD(t)
	c, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	real, err := c.Readers()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	fast := pcsc.ListSchedule{Often: time.Millisecond, Count: 1, Every: 5 * time.Millisecond}

	for name, known := range map[string][]string{
		"one fewer": real[1:],
		"one more":  append(slices.Clone(real), "Yubico YubiKey OTP+FIDO+CCID"),
		"none":      nil,
		"one other": append(slices.Clone(real[1:]), "Other Reader"),
	} {
		got, err := c.WaitReadersChange(ctx, known, fast)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !pcsc.SameReaders(got, real) {
			t.Errorf("%s: listed %q, want %q", name, got, real)
		}
	}

	c.ShrinkListBuffer(1)
	got, err := c.WaitReadersChange(ctx, real[1:], fast)
	if err != nil || !pcsc.SameReaders(got, real) {
		t.Errorf("outgrown buffer: listed %q, %v; want %q", got, err, real)
	}

	// The same names in another order are no change: only a nudge (or the
	// deadline) ends this wait.
	var nudge pcsc.Nudge
	s := fast
	s.Nudge, s.Seen = &nudge, nudge.Seen()
	done := make(chan error, 1)
	go func() {
		reversed := slices.Clone(real)
		slices.Reverse(reversed)
		got, err := c.WaitReadersChange(ctx, reversed, s)
		if err == nil && !pcsc.SameReaders(got, real) {
			err = fmt.Errorf("listed %q after a nudge, want %q", got, real)
		}
		done <- err
	}()
	nudge.Nudge()
	if err := <-done; err != nil {
		t.Errorf("nudged: %v", err)
	}

	// The known list in another order, no nudge: listing after listing
	// finds nothing new, so only the context ends the wait, with its error.
	s.Seen = nudge.Seen()
	wctx, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if got, err := c.WaitReadersChange(wctx, real, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait on the real list returned %q, %v; want the context's deadline", got, err)
	}
}
