//go:build cgo && windows

package libfido2

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
