//go:build cgo && windows

package libfido2

import "context"

// cborInfo: on Windows go-libfido2 links its own copy of libfido2, which
// this package has no headers for, so the fields go-libfido2 drops stay
// absent (fido.RawInfo's zero values, -1 for the remaining credentials).
type cborInfo struct {
	minPINLength   int
	firmware       int
	forcePINChange bool
	rkRemaining    int
}

func readCBORInfo(string) (cborInfo, error) { return cborInfo{rkRemaining: -1}, nil }

// Reset is authenticatorReset (fido_dev_reset) through go-libfido2. Its
// Cancel is not used: it races with the Device's own open (see
// cborinfo.go), so a cancelled reset here ends when the key gives up
// waiting for the touch.
func (a *Authenticator) Reset(ctx context.Context) error {
	return a.callCancel(ctx, a.dev.Reset, nil)
}
