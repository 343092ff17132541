//go:build cgo && linux

package pcsc_test

import (
	"slices"
	"testing"

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
