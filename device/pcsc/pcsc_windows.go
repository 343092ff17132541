//go:build windows

package pcsc

// Pure Go over winscard.dll, as piv-go does (pcsc_windows.go), so Windows
// builds need no cgo. Structures follow winscard.h: DWORD is 32-bit,
// SCARDCONTEXT/SCARDHANDLE are ULONG_PTR, SCARD_READERSTATEW has a 36-byte
// ATR buffer.
//
// Windows quirk: on Windows 8 and later the Smart Card service stops when
// the last reader is removed; contexts then fail with
// SCARD_E_SERVICE_STOPPED (matches ErrNoService) and callers establish a
// new one, which restarts the service.

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/keywizard/keywizard/device"
)

var (
	winscard             = syscall.NewLazyDLL("winscard.dll")
	procEstablishContext = winscard.NewProc("SCardEstablishContext")
	procReleaseContext   = winscard.NewProc("SCardReleaseContext")
	procListReadersW     = winscard.NewProc("SCardListReadersW")
	procConnectW         = winscard.NewProc("SCardConnectW")
	procDisconnect       = winscard.NewProc("SCardDisconnect")
	procBeginTransaction = winscard.NewProc("SCardBeginTransaction")
	procEndTransaction   = winscard.NewProc("SCardEndTransaction")
	procTransmit         = winscard.NewProc("SCardTransmit")
	procGetStatusChangeW = winscard.NewProc("SCardGetStatusChangeW")
	procCancel           = winscard.NewProc("SCardCancel")
)

const (
	scardScopeSystem uintptr = 2
	scardShareExcl   uintptr = 1
	scardShareShared uintptr = 2
	scardLeaveCard   uintptr = 0
	infinite         uintptr = 0xFFFFFFFF
)

const maxBuffer = 4 + 3 + (1 << 16) + 3 + 2

// readerStateW is SCARD_READERSTATEW.
type readerStateW struct {
	reader       *uint16
	userData     uintptr
	currentState uint32
	eventState   uint32
	atrLen       uint32
	atr          [36]byte
}

// ioRequest is SCARD_IO_REQUEST.
type ioRequest struct {
	protocol uint32
	pciLen   uint32
}

func rc(r uintptr) error { return check(uint32(r)) }

// Context is an established PC/SC context (SCardEstablishContext). See the
// package comment on using one Context per concurrent goroutine.
type Context struct {
	mu       sync.Mutex
	ctx      uintptr
	released bool
}

// Establish connects to the Smart Card service. When it is not running the
// error matches [ErrNoService].
func Establish() (*Context, error) {
	var h uintptr
	r, _, _ := procEstablishContext.Call(scardScopeSystem, 0, 0, uintptr(unsafe.Pointer(&h)))
	if err := rc(r); err != nil {
		return nil, fmt.Errorf("connecting to the smart card service: %w", err)
	}
	return &Context{ctx: h}, nil
}

// Release ends the context. Releasing twice is a no-op.
func (c *Context) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return nil
	}
	c.released = true
	r, _, _ := procReleaseContext.Call(c.ctx)
	return rc(r)
}

// WaitReadersChange lists the readers on s's schedule until the list
// differs from known (see [PollReaders]; Windows has the PnP notification
// reader, so the scanner has no need to list there).
func (c *Context) WaitReadersChange(ctx context.Context, known []string, s ListSchedule) ([]string, error) {
	return PollReaders(ctx, c.Readers, known, s)
}

// Readers lists the readers. No readers is an empty slice, not an error.
func (c *Context) Readers() ([]string, error) {
	for range 3 {
		var n uint32
		r, _, _ := procListReadersW.Call(c.ctx, 0, 0, uintptr(unsafe.Pointer(&n)))
		if Code(uint32(r)) == CodeNoReaders {
			return []string{}, nil
		}
		if err := rc(r); err != nil {
			return nil, fmt.Errorf("listing readers: %w", err)
		}
		if n == 0 {
			return []string{}, nil
		}
		buf := make([]uint16, n)
		r, _, _ = procListReadersW.Call(c.ctx, 0, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
		switch Code(uint32(r)) {
		case CodeNoReaders:
			return []string{}, nil
		case CodeInsufficientBuf:
			continue
		}
		if err := rc(r); err != nil {
			return nil, fmt.Errorf("listing readers: %w", err)
		}
		out := []string{}
		start := 0
		for i := 0; i < int(n) && i < len(buf); i++ {
			if buf[i] != 0 {
				continue
			}
			if i == start {
				break
			}
			out = append(out, syscall.UTF16ToString(buf[start:i]))
			start = i + 1
		}
		return out, nil
	}
	return nil, fmt.Errorf("listing readers: the reader list kept changing: %w", &Error{Code: CodeInsufficientBuf})
}

// Connect connects to the card in reader, shared unless exclusive, T=1|T=0.
func (c *Context) Connect(ctx context.Context, reader string, exclusive bool) (*Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name, err := syscall.UTF16PtrFromString(reader)
	if err != nil {
		return nil, fmt.Errorf("reader name %q: %w", reader, device.ErrInvalidArgument)
	}
	share := scardShareShared
	if exclusive {
		share = scardShareExcl
	}
	var (
		h     uintptr
		proto uint32
	)
	r, _, _ := procConnectW.Call(c.ctx, uintptr(unsafe.Pointer(name)), share,
		uintptr(ProtocolT0|ProtocolT1), uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(&proto)))
	if err := rc(r); err != nil {
		return nil, fmt.Errorf("connecting to %q: %w", reader, err)
	}
	return &Card{h: h, proto: Protocol(proto), reader: reader}, nil
}

// GetStatusChange blocks in SCardGetStatusChangeW with an infinite timeout
// until a reader's state differs from its CurrentState; cancelling ctx
// wakes it through SCardCancel and it returns ctx.Err().
func (c *Context) GetStatusChange(ctx context.Context, states []ReaderState) error {
	return c.getStatusChange(ctx, states, infinite)
}

// GetStatusChangeTimeout is GetStatusChange that gives up after timeout
// (0: report the states at once) with an error matching [ErrTimeout]; the
// states are filled in either way. The Windows Smart Card service stops when
// its last reader is removed, taking the PnP reader with it, so the caller
// then follows readers by listing them between such waits.
func (c *Context) GetStatusChangeTimeout(ctx context.Context, states []ReaderState, timeout time.Duration) error {
	return c.getStatusChange(ctx, states, uintptr(timeoutMillis(timeout)))
}

func (c *Context) getStatusChange(ctx context.Context, states []ReaderState, timeout uintptr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(states) == 0 {
		return fmt.Errorf("waiting for reader changes: no readers given: %w", device.ErrInvalidArgument)
	}
	arr := make([]readerStateW, len(states))
	for i, s := range states {
		name, err := syscall.UTF16PtrFromString(s.Reader)
		if err != nil {
			return fmt.Errorf("reader name %q: %w", s.Reader, device.ErrInvalidArgument)
		}
		arr[i].reader = name
		arr[i].currentState = uint32(s.CurrentState)
	}
	stop := watchCancel(ctx, func() { procCancel.Call(c.ctx) })
	r, _, _ := procGetStatusChangeW.Call(c.ctx, timeout, uintptr(unsafe.Pointer(&arr[0])), uintptr(len(arr)))
	stop()
	runtime.KeepAlive(arr)
	for i := range states {
		states[i].EventState = State(arr[i].eventState)
		n := min(int(arr[i].atrLen), len(arr[i].atr))
		states[i].ATR = append(states[i].ATR[:0], arr[i].atr[:n]...)
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

// Card is a connection to the card in one reader; it implements
// [device.Card].
type Card struct {
	mu     sync.Mutex
	h      uintptr
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

// Transmit sends one raw command APDU and returns the raw response.
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
	pci := ioRequest{protocol: uint32(k.proto), pciLen: uint32(unsafe.Sizeof(ioRequest{}))}
	n := uint32(len(k.buf))
	r, _, _ := procTransmit.Call(k.h, uintptr(unsafe.Pointer(&pci)),
		uintptr(unsafe.Pointer(&command[0])), uintptr(len(command)), 0,
		uintptr(unsafe.Pointer(&k.buf[0])), uintptr(unsafe.Pointer(&n)))
	if err := transmitError(int(n), rc(r)); err != nil {
		return nil, err
	}
	return append([]byte(nil), k.buf[:n]...), nil
}

// Begin starts a transaction.
func (k *Card) Begin() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, _, _ := procBeginTransaction.Call(k.h)
	if err := rc(r); err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	return nil
}

// End ends the transaction, leaving the card as it is.
func (k *Card) End() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, _, _ := procEndTransaction.Call(k.h, scardLeaveCard)
	if err := rc(r); err != nil {
		return fmt.Errorf("ending transaction: %w", err)
	}
	return nil
}

// Close disconnects, leaving the card as it is. Closing twice is a no-op.
func (k *Card) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	r, _, _ := procDisconnect.Call(k.h, scardLeaveCard)
	if err := rc(r); err != nil && !isGone(err) {
		return fmt.Errorf("disconnecting: %w", err)
	}
	return nil
}
