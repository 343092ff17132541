//go:build cgo && !windows

package libfido2

/*
#cgo pkg-config: libfido2
#include <fido.h>
#include <stdint.h>
#include <stdlib.h>

// kw_cbor_info reads the getInfo fields go-libfido2's DeviceInfo leaves
// out, through libfido2's own accessors (libfido2 src/info.c,
// man/fido_cbor_info_new.3): minPINLength (0x0D), forcePINChange (0x0C),
// firmwareVersion (0x0E) and remainingDiscoverableCredentials (0x14).
typedef struct {
	uint64_t minpinlen;
	uint64_t fwversion;
	int      new_pin_required;
	int64_t  rk_remaining;
} kw_info;

static int kw_cbor_info(const char *path, kw_info *out) {
	fido_dev_t *dev = NULL;
	fido_cbor_info_t *ci = NULL;
	int r;

	if ((dev = fido_dev_new()) == NULL)
		return FIDO_ERR_INTERNAL;
	if ((r = fido_dev_open(dev, path)) != FIDO_OK) {
		fido_dev_free(&dev);
		return r;
	}
	if ((ci = fido_cbor_info_new()) == NULL) {
		r = FIDO_ERR_INTERNAL;
	} else if ((r = fido_dev_get_cbor_info(dev, ci)) == FIDO_OK) {
		out->minpinlen = fido_cbor_info_minpinlen(ci);
		out->fwversion = fido_cbor_info_fwversion(ci);
		out->new_pin_required = fido_cbor_info_new_pin_required(ci);
		out->rk_remaining = fido_cbor_info_rk_remaining(ci);
	}
	fido_cbor_info_free(&ci);
	fido_dev_close(dev);
	fido_dev_free(&dev);
	return r;
}
*/
import "C"

import (
	"unsafe"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// cborInfo is what kw_cbor_info reads. libfido2 reports an absent field
// as 0 (minPINLength, firmwareVersion), false (forcePINChange) or -1
// (remainingDiscoverableCredentials), which are fido.RawInfo's "absent"
// values too.
type cborInfo struct {
	minPINLength   int
	firmware       int
	forcePINChange bool
	rkRemaining    int
}

// readCBORInfo runs authenticatorGetInfo through libfido2 on path and
// returns the fields go-libfido2 drops. Errors come as go-libfido2's
// errors (libfido2.Error{Code}), for toFIDOError.
func readCBORInfo(path string) (cborInfo, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var out C.kw_info
	if r := C.kw_cbor_info(cpath, &out); r != C.FIDO_OK {
		return cborInfo{}, libfido2.Error{Code: int(r)}
	}
	return cborInfo{
		minPINLength:   int(out.minpinlen),
		firmware:       int(out.fwversion),
		forcePINChange: out.new_pin_required != 0,
		rkRemaining:    int(out.rk_remaining),
	}, nil
}
