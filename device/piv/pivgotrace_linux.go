//go:build linux && cgo

package piv

// piv-go talks to libpcsclite from its own cgo code and accepts no card of
// ours (github.com/go-piv/piv-go/v2 piv/piv.go Open takes a reader name),
// so its APDUs never pass device/apdu, where keywizard's own are traced.
// pivgotrace_linux.c defines SCardConnect and SCardTransmit in the
// executable, in front of libpcsclite's: a piv-go session opened through
// tracePIVGo has its handle noted at connect, and each exchange on that
// handle is given to device/trace, which decodes and redacts it exactly as
// it does keywizard's own (PINs, PUKs and management keys as their length).
// Other connections are passed on untouched.
//
// Only on Linux: on macOS the PC/SC framework binds piv-go's calls itself
// and the same interposition is untested there; on Windows piv-go calls
// winscard.dll through syscall.

/*
#cgo linux pkg-config: libpcsclite
#include <stdlib.h>

int kw_pivtrace_expect(const char *reader);
void kw_pivtrace_forget(int slot);
*/
import "C"

import (
	"fmt"
	"strconv"
	"sync"
	"unsafe"

	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/trace"
)

var pivgoTrace struct {
	mu  sync.Mutex
	who map[int]string // slot → the reader, named as device/apdu names it
}

// tracePIVGo arranges for the piv-go session about to be opened on reader
// to be traced; call done once it is closed. With more piv-go sessions open
// at once than the C side has room for, the session is not traced.
func tracePIVGo(reader string) (done func()) {
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	slot := int(C.kw_pivtrace_expect(name))
	if slot < 0 {
		return func() {}
	}
	pivgoTrace.mu.Lock()
	if pivgoTrace.who == nil {
		pivgoTrace.who = map[int]string{}
	}
	pivgoTrace.who[slot] = strconv.Quote(reader)
	pivgoTrace.mu.Unlock()
	trace.Default().Note(trace.KindAPDU, strconv.Quote(reader), "piv-go session")
	return func() {
		C.kw_pivtrace_forget(C.int(slot))
		pivgoTrace.mu.Lock()
		delete(pivgoTrace.who, slot)
		pivgoTrace.mu.Unlock()
	}
}

//export keywizardPIVGoExchange
func keywizardPIVGoExchange(slot C.int, cmd *C.uchar, n C.ulong, resp *C.uchar, m C.ulong, rc C.ulong) {
	pivgoTrace.mu.Lock()
	who, ok := pivgoTrace.who[int(slot)]
	pivgoTrace.mu.Unlock()
	if !ok {
		return
	}
	l := trace.Default()
	l.Command(who, C.GoBytes(unsafe.Pointer(cmd), C.int(n)))
	var err error
	if rc != 0 {
		err = fmt.Errorf("piv-go's SCardTransmit: %w", &pcsc.Error{Code: pcsc.Code(uint32(rc))})
	}
	var raw []byte
	if err == nil {
		raw = C.GoBytes(unsafe.Pointer(resp), C.int(m))
	}
	l.Response(who, raw, err)
}
