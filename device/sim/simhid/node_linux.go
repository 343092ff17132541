//go:build linux

package simhid

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/keywizard/keywizard/device"
)

// Node is a simulated FIDO HID device node: a pseudo-terminal in raw mode
// carrying whole HID reports, reachable at a path of the caller's choice
// (a symbolic link to the terminal's /dev/pts entry). libfido2 opens it
// with its Linux HID code as it opens a /dev/hidraw node (libfido2
// src/hid_linux.c fido_hid_open, src/hid_unix.c fido_hid_unix_open):
//
//   - open(O_RDWR) and fstat S_ISCHR: a pty is a character device, which
//     a FUSE file can never be (libfido2 refuses regular files);
//   - flock(LOCK_EX|LOCK_NB): works on any file;
//   - HIDIOCGRDESCSIZE/HIDIOCGRDESC: a pty answers ENOTTY, and libfido2
//     then uses the default 64-byte reports ("using default report
//     sizes"), which are the sizes of every FIDO key's descriptor;
//   - write of 65 bytes (report ID 0, then the report) and ppoll + read of
//     64 bytes: raw mode passes them unchanged, and the simulator writes
//     each input report with one write, which a pty delivers whole.
//
// docs/fido-hid.md explains why this and not uhid, CUSE or FUSE. The
// device is "unplugged" by Close: the link goes, and a reader of the
// terminal gets EIO, as from a hidraw node whose device left.
type Node struct {
	path string
	pts  string
	dev  *Device

	master *os.File
	slave  *os.File // held open so that the terminal lives between clients

	once sync.Once
	done chan struct{}
	err  error
}

// Create makes a node at path for auth, reporting version v in
// CTAPHID_INIT. An existing path is replaced only when it is a symbolic
// link (a node left behind by a simulator that was killed); anything else
// is refused.
func Create(path string, auth Authenticator, v Version) (*Node, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return nil, fmt.Errorf("creating the FIDO HID node %s: the path exists and is not a simulator's link: %w", path, device.ErrInvalidArgument)
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("creating the FIDO HID node %s: %w", path, err)
	}
	n := &Node{path: path, master: master, done: make(chan struct{})}
	if err := n.setup(); err != nil {
		master.Close()
		if n.slave != nil {
			n.slave.Close()
		}
		return nil, fmt.Errorf("creating the FIDO HID node %s: %w", path, err)
	}
	n.dev = NewDevice(auth, v, func(r []byte) error {
		_, err := n.master.Write(r)
		return err
	})
	go n.serve()
	return n, nil
}

func (n *Node) setup() error {
	rc, err := n.master.SyscallConn()
	if err != nil {
		return err
	}
	var num int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr != nil {
			return
		}
		num, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	}); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("unlocking the pseudo-terminal: %w", ierr)
	}
	n.pts = "/dev/pts/" + strconv.Itoa(num)
	if n.slave, err = os.OpenFile(n.pts, os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		return err
	}
	// Raw mode, as cfmakeraw(3): no echo, no line editing, no signals,
	// no CR/LF translation in either direction, 8-bit bytes, and a read
	// returns as soon as bytes are there (VMIN 1, VTIME 0).
	fd := int(n.slave.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("reading terminal settings: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("setting raw mode: %w", err)
	}
	// Publish the node last, atomically: a link to a temporary name,
	// renamed over path.
	tmp := filepath.Join(filepath.Dir(n.path), "."+filepath.Base(n.path)+".tmp"+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	if err := os.Symlink(n.pts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, n.path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// serve reads the host's output reports: 65 bytes each, a report ID (0,
// FIDO devices have one report) and the 64-byte report.
func (n *Node) serve() {
	defer close(n.done)
	buf := make([]byte, ReportLen+1)
	for {
		if _, err := io.ReadFull(n.master, buf); err != nil {
			if !errors.Is(err, os.ErrClosed) {
				n.err = err
			}
			return
		}
		n.dev.HandleReport(buf[1:])
	}
}

// Path is where the node is.
func (n *Node) Path() string { return n.path }

// Close unplugs the device: the path goes, a running request is
// cancelled, and clients reading the node get an error.
func (n *Node) Close() error {
	var err error
	n.once.Do(func() {
		if target, lerr := os.Readlink(n.path); lerr == nil && target == n.pts {
			err = os.Remove(n.path)
		}
		n.master.Close()
		<-n.done
		n.dev.Close()
		n.slave.Close()
	})
	return err
}
