//go:build cgo && linux

// Command pcscfloor is the floor `make bench` measures `keywizard keys
// --json` against: the least a PC/SC client must do to read every key's
// management device info, and nothing else. It establishes a context, lists
// the readers and, for each reader in parallel (one context per goroutine,
// because pcsc-lite serialises calls per context), connects shared, sends
// exactly the commands keywizard's discovery sends (SELECT management, then
// READ CONFIG page by page; device/mgmt Open and ReadInfo, docs/yubikey-protocol.md
// §1.1, §1.2), checks only the status words and disconnects. It prints
// nothing unless -count is given (then the number of keys that answered).
//
// It is built with the same flags as keywizard (scripts/bench.sh) so the
// comparison is of the work done, not of the toolchain. Built with -tags fido
// (bin/pcscfloor-fido) it also does the least FIDO HID discovery keywizard's
// must do through go-libfido2 (fido.go), so a benchmark can tell what linking
// and asking libfido2 costs apart from keywizard's own overhead. Linux only: the
// benchmark runs against pcscd with vsmartcard's vpcd.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/tlv"
)

// The commands discovery sends, byte for byte as device/apdu encodes them
// (main_test.go checks them against device/mgmt): SELECT of the management
// AID A000000527471117 without Le, and READ CONFIG (INS 1D) with the page in
// P1 and no Le.
var selectMgmt = []byte{0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}

func readConfig(page byte) []byte { return []byte{0x00, 0x1D, page, 0x00} }

// maxPages bounds READ CONFIG paging as device/mgmt does.
const maxPages = 16

// tagMoreData is the device-info TLV asking for another page (§1.2).
const tagMoreData = 0x10

func main() {
	count := flag.Bool("count", false, "print how many keys answered")
	flag.Parse()
	ctx := context.Background()
	fidoDone := make(chan error, 1)
	if fidoFloor != nil {
		// Built with -tags fido: also list the FIDO HID devices, at the
		// same time as the readers, as keywizard's discovery does.
		go func() { fidoDone <- fidoFloor(ctx) }()
	} else {
		fidoDone <- nil
	}
	n, err := run(ctx)
	err = errors.Join(err, <-fidoDone)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcscfloor:", err)
		os.Exit(1)
	}
	if *count {
		fmt.Println(n)
	}
}

// run reads every reader once and returns how many held a key that
// answered both commands.
func run(ctx context.Context) (int, error) {
	lister, err := pcsc.Establish()
	if err != nil {
		return 0, fmt.Errorf("establishing a PC/SC context: %w", err)
	}
	readers, err := lister.Readers()
	if err != nil {
		lister.Release()
		return 0, fmt.Errorf("listing readers: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		n    int
		errs []error
	)
	for i, r := range readers {
		pc := lister
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				// Like the scanner: the listing context serves the
				// first reader, every other reader gets its own.
				var err error
				if pc, err = pcsc.Establish(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
			defer pc.Release()
			ok, err := readReader(ctx, pc, r)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				n++
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("reader %q: %w", r, err))
			}
		}()
	}
	if len(readers) == 0 {
		lister.Release()
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

// readReader connects to reader; an empty reader is not an error.
func readReader(ctx context.Context, pc *pcsc.Context, reader string) (bool, error) {
	card, err := pc.Connect(ctx, reader, false)
	if err != nil {
		if errors.Is(err, device.ErrRemoved) || errors.Is(err, device.ErrNotFound) {
			return false, nil // no card in this reader
		}
		return false, err
	}
	defer card.Close()
	if _, err := readInfo(ctx, card); err != nil {
		return false, err
	}
	return true, nil
}

// readInfo sends SELECT and the READ CONFIG pages on card and returns how
// many commands it sent. Only status words and the MORE_DATA tag are looked
// at: the floor does not decode the device info.
func readInfo(ctx context.Context, card device.Card) (int, error) {
	sent := 0
	send := func(cmd []byte) ([]byte, error) {
		sent++
		resp, err := card.Transmit(ctx, cmd)
		if err != nil {
			return nil, err
		}
		if len(resp) < 2 || resp[len(resp)-2] != 0x90 || resp[len(resp)-1] != 0x00 {
			return nil, fmt.Errorf("command % X: status % X, want 90 00: %w", cmd[:4], resp[max(0, len(resp)-2):], device.ErrInvalidResponse)
		}
		return resp[:len(resp)-2], nil
	}
	if _, err := send(selectMgmt); err != nil {
		return sent, err
	}
	for page := byte(0); page < maxPages; page++ {
		data, err := send(readConfig(page))
		if err != nil {
			return sent, err
		}
		if !moreData(data) {
			return sent, nil
		}
	}
	return sent, fmt.Errorf("more than %d READ CONFIG pages: %w", maxPages, device.ErrInvalidResponse)
}

// moreData reports whether a READ CONFIG page (length byte, then TLVs) has
// a non-zero MORE_DATA tag. Anything malformed ends the paging.
func moreData(page []byte) bool {
	if len(page) == 0 {
		return false
	}
	items, err := tlv.Parse(page[1:])
	if err != nil {
		return false
	}
	for _, t := range items {
		if t.Tag != tagMoreData {
			continue
		}
		for _, b := range t.Value {
			if b != 0 {
				return true
			}
		}
	}
	return false
}
