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

// kw_dev_open and kw_dev_close hold a device open for kw's own calls.
static fido_dev_t *kw_dev_open(const char *path, int *r) {
	fido_dev_t *dev;

	if ((dev = fido_dev_new()) == NULL) {
		*r = FIDO_ERR_INTERNAL;
		return NULL;
	}
	if ((*r = fido_dev_open(dev, path)) != FIDO_OK) {
		fido_dev_free(&dev);
		return NULL;
	}
	return dev;
}

static void kw_dev_close(fido_dev_t *dev) {
	fido_dev_close(dev);
	fido_dev_free(&dev);
}
*/
import "C"

import (
	"context"
	"sync"
	"unsafe"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// codeErr is a libfido2 return code as go-libfido2 reports it, for
// toFIDOError: FIDO_ERR_TX and FIDO_ERR_RX (fido/err.h) as its sentinels,
// every other code as libfido2.Error.
func codeErr(r C.int) error {
	switch r {
	case C.FIDO_ERR_TX:
		return libfido2.ErrTX
	case C.FIDO_ERR_RX:
		return libfido2.ErrRX
	}
	return libfido2.Error{Code: int(r)}
}

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
		return cborInfo{}, codeErr(r)
	}
	return cborInfo{
		minPINLength:   int(out.minpinlen),
		firmware:       int(out.fwversion),
		forcePINChange: out.new_pin_required != 0,
		rkRemaining:    int(out.rk_remaining),
	}, nil
}

// Reset is authenticatorReset (fido_dev_reset). It blocks until the key
// is touched, refuses, or gives up; when ctx ends first, the request is
// cancelled (fido_dev_cancel, CTAPHID_CANCEL) and ctx's error returned.
//
// It calls libfido2 itself rather than go-libfido2's Device.Reset: that
// Device's Cancel reads the open handle that its open() writes without
// the Device's lock (go-libfido2 fido2.go), a data race, and a cancel
// that arrives before the handle is stored is lost, leaving the reset to
// wait for a touch that will not come.
func (a *Authenticator) Reset(ctx context.Context) error {
	r := &resetter{path: a.path}
	return a.callCancel(ctx, r.run, r.cancel)
}

type resetter struct {
	path      string
	mu        sync.Mutex
	dev       *C.fido_dev_t
	cancelled bool
}

func (r *resetter) run() error {
	cpath := C.CString(r.path)
	defer C.free(unsafe.Pointer(cpath))
	var rc C.int
	dev := C.kw_dev_open(cpath, &rc)
	if dev == nil {
		return codeErr(rc)
	}
	defer C.kw_dev_close(dev)
	r.mu.Lock()
	if r.cancelled {
		r.mu.Unlock()
		return libfido2.ErrKeepaliveCancel
	}
	r.dev = dev
	r.mu.Unlock()
	rc = C.fido_dev_reset(dev)
	r.mu.Lock()
	r.dev = nil
	r.mu.Unlock()
	if rc != C.FIDO_OK {
		return codeErr(rc)
	}
	return nil
}

func (r *resetter) cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = true
	if r.dev != nil {
		C.fido_dev_cancel(r.dev)
	}
}
