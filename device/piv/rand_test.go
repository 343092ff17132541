package piv

import (
	"crypto/rand"
	"io"
)

// randReader is the randomness tests pass where determinism is not needed.
func randReader() io.Reader { return rand.Reader }
