//go:build cgo && !windows

package pcsc

// Ludovic Rousseau's sample shows the call sequence:
// https://ludovicrousseau.blogspot.com/2010/04/pcsc-sample-in-c.html
//
// Reader-state arrays are built in C memory and read back through small C
// helpers, so Go never depends on SCARD_READERSTATE's layout (packed on
// macOS, DWORD-sized fields differ between pcsc-lite on LP64 and macOS).

/*
#cgo linux pkg-config: libpcsclite
#cgo darwin LDFLAGS: -framework PCSC
#cgo freebsd openbsd netbsd CFLAGS: -I/usr/local/include -I/usr/local/include/PCSC
#cgo freebsd openbsd netbsd LDFLAGS: -L/usr/local/lib -lpcsclite
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#ifndef SCARD_E_NO_READERS_AVAILABLE
#define SCARD_E_NO_READERS_AVAILABLE ((LONG)0x8010002E)
#endif
#ifndef INFINITE
#define INFINITE 0xFFFFFFFF
#endif

static SCARD_READERSTATE *kw_states(size_t n) {
	return (SCARD_READERSTATE *)calloc(n, sizeof(SCARD_READERSTATE));
}

static void kw_state_set(SCARD_READERSTATE *s, size_t i, const char *name, uint32_t cur) {
	s[i].szReader = name;
	s[i].dwCurrentState = cur;
}

static uint32_t kw_state_event(SCARD_READERSTATE *s, size_t i) {
	return (uint32_t)s[i].dwEventState;
}

static size_t kw_state_atr(SCARD_READERSTATE *s, size_t i, unsigned char *out, size_t max) {
	size_t n = (size_t)s[i].cbAtr;
	if (n > max) n = max;
	if (n > sizeof(s[i].rgbAtr)) n = sizeof(s[i].rgbAtr);
	memcpy(out, s[i].rgbAtr, n);
	return n;
}

static const SCARD_IO_REQUEST *kw_pci(DWORD proto) {
	return proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
}

static uint32_t kw_rc(LONG rc) { return (uint32_t)rc; }

// kw_listed reports whether name is one of the strings of the multi-string
// ms (n bytes).
static int kw_listed(const char *ms, size_t n, const char *name) {
	size_t i = 0;
	while (i < n && ms[i] != 0) {
		if (strcmp(ms + i, name) == 0) return 1;
		i += strlen(ms + i) + 1;
	}
	return 0;
}

// kw_same reports whether two multi-strings hold the same names, in any
// order (a listing names each reader once). The PnP pseudo-reader is never
// listed (pcsc-lite, macOS).
static int kw_same(const char *a, size_t an, const char *b, size_t bn) {
	size_t i = 0, na = 0, nb = 0;
	while (i < an && a[i] != 0) {
		if (!kw_listed(b, bn, a + i)) return 0;
		na++;
		i += strlen(a + i) + 1;
	}
	for (i = 0; i < bn && b[i] != 0; i += strlen(b + i) + 1) nb++;
	return na == nb;
}

static int kw_pipe(int *fds) {
	if (pipe(fds) != 0) return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static void kw_close(int fd) { close(fd); }

enum { KW_LIST_CHANGED, KW_LIST_CANCELLED, KW_LIST_FAILED };

// kw_wait_list lists the readers into buf (cap *n bytes) every often_ms for
// count listings, then every every_ms, until the list differs from known
// (known_len bytes), *nudge differs from seen (when nudge is not NULL), or
// cancel_fd becomes readable. Between listings only this thread wakes, and
// only to list: the whole wait is one cgo call, so the Go runtime does not
// run at all while nothing changes (docs/pcsc-platforms.md §1.1).
static int kw_wait_list(SCARDCONTEXT ctx, int cancel_fd, const char *known, size_t known_len,
		char *buf, DWORD *n, int often_ms, int count, int every_ms,
		const uint32_t *nudge, uint32_t seen, LONG *rv) {
	DWORD cap = *n;
	struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
	for (int i = 0;; i++) {
		int r = poll(&p, 1, i < count ? often_ms : every_ms);
		if (r < 0 && errno == EINTR) continue;
		if (r != 0) return KW_LIST_CANCELLED;
		*n = cap;
		*rv = SCardListReaders(ctx, NULL, buf, n);
		if ((uint32_t)*rv == (uint32_t)SCARD_E_NO_READERS_AVAILABLE) {
			*n = 0;
		} else if (*rv != SCARD_S_SUCCESS) {
			return KW_LIST_FAILED;
		}
		if (!kw_same(buf, *n, known, known_len)) return KW_LIST_CHANGED;
		if (nudge != NULL && __atomic_load_n(nudge, __ATOMIC_SEQ_CST) != seen) return KW_LIST_CHANGED;
	}
}
*/
import "C"

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/keywizard/keywizard/device"
)

// maxBuffer is MAX_BUFFER_SIZE_EXTENDED: header, extended Lc, 64 KiB of data,
// extended Le, status word.
const maxBuffer = 4 + 3 + (1 << 16) + 3 + 2

// maxATR is large enough for pcsc-lite (33), macOS and Windows (36).
const maxATR = 36

func rc(r C.LONG) error { return check(uint32(C.kw_rc(r))) }

// Context is an established PC/SC context (SCardEstablishContext). See the
// package comment on using one Context per concurrent goroutine.
type Context struct {
	mu       sync.Mutex
	ctx      C.SCARDCONTEXT
	released bool
	list     []byte // Readers' buffer, kept between calls
}

// Establish connects to the smart card service. When pcscd is not running
// the error matches [ErrNoService].
func Establish() (*Context, error) {
	var h C.SCARDCONTEXT
	if err := rc(C.SCardEstablishContext(C.SCARD_SCOPE_SYSTEM, nil, nil, &h)); err != nil {
		return nil, fmt.Errorf("connecting to the smart card service: %w", err)
	}
	return &Context{ctx: h}, nil
}

// Release ends the context (SCardReleaseContext). Cards connected through it
// become unusable. Releasing twice is a no-op.
func (c *Context) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return nil
	}
	c.released = true
	return rc(C.SCardReleaseContext(c.ctx))
}

// Readers lists the readers the service knows. No readers is an empty
// slice, not an error (pcsc-lite reports SCARD_E_NO_READERS_AVAILABLE).
//
// It is one SCardListReaders into a buffer kept from the last call (grown
// when the service answers SCARD_E_INSUFFICIENT_BUFFER with the size it
// needs), not a size query and a read: where there is no PnP notification
// reader the watcher lists readers every interval, and each call is a round
// trip to the service (docs/pcsc-platforms.md §1.1, BENCHMARKS.md).
func (c *Context) Readers() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readersLocked()
}

func (c *Context) readersLocked() ([]string, error) {
	// The list can grow between two calls; retry then.
	for range 3 {
		if len(c.list) == 0 {
			c.list = make([]byte, 256)
		}
		n := C.DWORD(len(c.list))
		r := C.SCardListReaders(c.ctx, nil, (*C.char)(unsafe.Pointer(&c.list[0])), &n)
		switch Code(C.kw_rc(r)) {
		case CodeNoReaders:
			return []string{}, nil
		case CodeInsufficientBuf:
			// pcsc-lite and Windows set n to the length needed.
			c.list = make([]byte, max(int(n), 2*len(c.list)))
			continue
		}
		if err := rc(r); err != nil {
			return nil, fmt.Errorf("listing readers: %w", err)
		}
		return splitMultiString(c.list[:min(int(n), len(c.list))]), nil
	}
	return nil, fmt.Errorf("listing readers: the reader list kept changing: %w", &Error{Code: CodeInsufficientBuf})
}

// WaitReadersChange lists the readers on s's schedule until the list
// differs from known (in any order), or s's nudge moved, and returns that
// listing; cancelling ctx ends it with ctx.Err(). It is how the scanner
// follows readers where the platform has no [PnPNotification] reader
// (macOS): the whole wait is one cgo call that sleeps in poll(2) between
// listings, so at rest only the listing itself runs, one SCardListReaders
// per interval, and the Go runtime's threads stay asleep (waking them for
// each listing from Go cost more than the listing: BENCHMARKS.md). Like
// GetStatusChange it holds this Context for its whole duration.
func (c *Context) WaitReadersChange(ctx context.Context, known []string, s ListSchedule) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The known names as a multi-string, in Go memory C only reads during
	// the call.
	ms := []byte{0}
	for _, k := range known {
		if k != PnPNotification {
			ms = append(append(ms[:len(ms)-1], k...), 0, 0)
		}
	}
	var fds [2]C.int
	if r, err := C.kw_pipe(&fds[0]); r != 0 {
		return nil, fmt.Errorf("waiting for the reader list to change: %w", err)
	}
	// The pipe is closed only once the write that cancels (if it started)
	// is over, so it never writes to a reused descriptor.
	wrote := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(wrote)
		syscall.Write(int(fds[1]), []byte{0})
	})
	defer func() {
		if !stop() {
			<-wrote
		}
		C.kw_close(fds[0])
		C.kw_close(fds[1])
	}()
	var nudge *C.uint32_t
	if s.Nudge != nil {
		nudge = (*C.uint32_t)(unsafe.Pointer(&s.Nudge.n))
	}
	often, every, count := max(s.Often, time.Millisecond), max(s.Every, time.Millisecond), s.Count
	for {
		if len(c.list) == 0 {
			c.list = make([]byte, 256)
		}
		n := C.DWORD(len(c.list))
		var r C.LONG
		switch C.kw_wait_list(c.ctx, fds[0], (*C.char)(unsafe.Pointer(&ms[0])), C.size_t(len(ms)-1),
			(*C.char)(unsafe.Pointer(&c.list[0])), &n, C.int(often.Milliseconds()), C.int(count),
			C.int(every.Milliseconds()), nudge, C.uint32_t(s.Seen), &r) {
		case C.KW_LIST_CHANGED:
			return splitMultiString(c.list[:min(int(n), len(c.list))]), nil
		case C.KW_LIST_CANCELLED:
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("waiting for the reader list to change: %w", &Error{Code: CodeCancelled})
		}
		if Code(C.kw_rc(r)) != CodeInsufficientBuf {
			return nil, fmt.Errorf("listing readers: %w", rc(r))
		}
		// The list outgrew the buffer: list again at once, growing it, and
		// go on waiting if it is still the known list.
		names, err := c.readersLocked()
		if err != nil {
			return nil, err
		}
		if !SameReaders(names, known) || s.nudged() {
			return names, nil
		}
		count = 0
	}
}

// Connect connects to the card in reader, shared unless exclusive is set,
// with T=1 or T=0. An empty reader gives an error matching
// [device.ErrRemoved]; an unknown reader one matching [device.ErrNotFound].
// ctx is checked before connecting; SCardConnect itself cannot be cancelled.
func (c *Context) Connect(ctx context.Context, reader string, exclusive bool) (*Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	share := C.DWORD(C.SCARD_SHARE_SHARED)
	if exclusive {
		share = C.SCARD_SHARE_EXCLUSIVE
	}
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	var (
		h     C.SCARDHANDLE
		proto C.DWORD
	)
	r := C.SCardConnect(c.ctx, name, share, C.SCARD_PROTOCOL_T0|C.SCARD_PROTOCOL_T1, &h, &proto)
	if err := rc(r); err != nil {
		return nil, fmt.Errorf("connecting to %q: %w", reader, err)
	}
	return &Card{h: h, proto: Protocol(proto), reader: reader}, nil
}

// GetStatusChange blocks in SCardGetStatusChange with an infinite timeout
// until some reader's state differs from its CurrentState, then fills in
// EventState and ATR. Cancelling ctx wakes it through SCardCancel and it
// returns ctx.Err(). Include [PnPNotification] to wake on readers appearing
// or disappearing. A reader name the service does not know gives an error
// matching [device.ErrNotFound] (list the readers again).
//
// The call holds this Context for its whole duration (pcsc-lite), so wait on
// a Context that nothing else uses meanwhile.
func (c *Context) GetStatusChange(ctx context.Context, states []ReaderState) error {
	return c.getStatusChange(ctx, states, C.INFINITE)
}

// GetStatusChangeTimeout is GetStatusChange that gives up after timeout
// (0: report the states at once) with an error matching [ErrTimeout]; the
// states are filled in either way. It is how a caller follows readers where
// the platform has no [PnPNotification] reader: wait on the known readers
// for a while, then list the readers again.
func (c *Context) GetStatusChangeTimeout(ctx context.Context, states []ReaderState, timeout time.Duration) error {
	return c.getStatusChange(ctx, states, C.DWORD(timeoutMillis(timeout)))
}

func (c *Context) getStatusChange(ctx context.Context, states []ReaderState, timeout C.DWORD) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(states) == 0 {
		return fmt.Errorf("waiting for reader changes: no readers given: %w", device.ErrInvalidArgument)
	}
	n := C.size_t(len(states))
	arr := C.kw_states(n)
	if arr == nil {
		return fmt.Errorf("waiting for reader changes: %w", &Error{Code: CodeNoMemory})
	}
	defer C.free(unsafe.Pointer(arr))
	for i, s := range states {
		name := C.CString(s.Reader)
		defer C.free(unsafe.Pointer(name))
		C.kw_state_set(arr, C.size_t(i), name, C.uint32_t(s.CurrentState))
	}
	stop := watchCancel(ctx, func() { C.SCardCancel(c.ctx) })
	r := C.SCardGetStatusChange(c.ctx, timeout, arr, C.DWORD(len(states)))
	stop()
	var atr [maxATR]byte
	for i := range states {
		states[i].EventState = State(C.kw_state_event(arr, C.size_t(i)))
		m := C.kw_state_atr(arr, C.size_t(i), (*C.uchar)(unsafe.Pointer(&atr[0])), maxATR)
		states[i].ATR = append(states[i].ATR[:0], atr[:m]...)
	}
	err := rc(r)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("waiting for reader changes: %w", err)
	}
	return nil
}

// Card is a connection to the card in one reader. It implements
// [device.Card]. Methods are safe for concurrent use (they serialise).
type Card struct {
	mu     sync.Mutex
	h      C.SCARDHANDLE
	proto  Protocol
	reader string
	buf    []byte
	closed bool
}

var _ device.Card = (*Card)(nil)

// Reader is the name of the reader the card was connected in.
func (k *Card) Reader() string { return k.reader }

// Protocol is the protocol negotiated at connect.
func (k *Card) Protocol() Protocol { return k.proto }

// Transmit sends one raw command APDU and returns the raw response with SW1
// SW2. A card that was pulled gives an error matching [device.ErrRemoved].
// ctx is checked before sending; a transmit in flight cannot be cancelled.
func (k *Card) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(command) == 0 {
		return nil, fmt.Errorf("transmitting: empty command: %w", device.ErrInvalidArgument)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("transmitting: card connection is closed: %w", &Error{Code: CodeInvalidHandle})
	}
	if k.buf == nil {
		k.buf = make([]byte, maxBuffer)
	}
	n := C.DWORD(len(k.buf))
	r := C.SCardTransmit(k.h, C.kw_pci(C.DWORD(k.proto)),
		(*C.uchar)(unsafe.Pointer(&command[0])), C.DWORD(len(command)), nil,
		(*C.uchar)(unsafe.Pointer(&k.buf[0])), &n)
	if err := transmitError(int(n), rc(r)); err != nil {
		return nil, err
	}
	return append([]byte(nil), k.buf[:n]...), nil
}

// Begin starts a transaction (SCardBeginTransaction): other programs'
// commands wait until End. It blocks while another program holds one.
func (k *Card) Begin() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := rc(C.SCardBeginTransaction(k.h)); err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	return nil
}

// End ends the transaction, leaving the card as it is.
func (k *Card) End() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := rc(C.SCardEndTransaction(k.h, C.SCARD_LEAVE_CARD)); err != nil {
		return fmt.Errorf("ending transaction: %w", err)
	}
	return nil
}

// Close disconnects, leaving the card as it is (SCARD_LEAVE_CARD), so the
// key's state is untouched for the next program. Closing twice is a no-op.
func (k *Card) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	if err := rc(C.SCardDisconnect(k.h, C.SCARD_LEAVE_CARD)); err != nil && !isGone(err) {
		return fmt.Errorf("disconnecting: %w", err)
	}
	return nil
}
