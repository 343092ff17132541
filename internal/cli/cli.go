// Package cli implements keywizard's command-line commands (keys, key wipe,
// otp, sim) on top of injected devices and IO, so they are tested without a
// terminal and, through the simulator, without hardware. cmd/keywizard
// wires the real devices in; the GUI starts when no command is given.
//
// Errors map to documented exit codes (README.md) through errors.Is/As on
// the device package's typed errors, never through their text.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/device"
)

// Exit codes, documented in README.md.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitAmbiguous   = 4
	ExitLocked      = 5
	ExitRemoved     = 6
	ExitUnsupported = 7
)

// Devices is what the commands need from the hardware layer.
type Devices interface {
	// Keys lists the connected keys; withPIV also reads PIV state.
	Keys(ctx context.Context, withPIV bool) ([]device.Key, error)
	// DisableOTP disables OTP over USB (and NFC when nfc is set) on the key
	// with that serial (0: the only key), waits for it to restart, reads the
	// result back and reports what changed.
	DisableOTP(ctx context.Context, req OTPRequest) (OTPResult, error)
	// WipeTarget reads the key with serial (never 0: a wipe always names
	// its key) with its FIDO2 state, its PIV state when PIV is enabled
	// over USB, and which PIV slots hold a certificate. It changes nothing.
	WipeTarget(ctx context.Context, serial uint32) (WipeTarget, error)
	// ResetPIV erases the PIV application of the key that c names; the
	// device layer refuses if the key in the reader is not that one.
	ResetPIV(ctx context.Context, c WipeConfirmation) error
	// WaitReplug returns once the key with serial has been pulled out and
	// plugged back in. It is watching before it calls ready, so ready is
	// where the person is told to do it: a quick replug is not missed.
	WaitReplug(ctx context.Context, serial uint32, ready func()) error
	// ResetFIDO erases the FIDO2 application of the key that c names. A
	// YubiKey allows it only just after being plugged in, so it is called
	// right after WaitReplug. onTouch is told while the key waits for a
	// touch (true), and when it no longer does (false).
	ResetFIDO(ctx context.Context, c WipeConfirmation, onTouch func(waiting bool)) error
	// EnableForWipe enables over USB the applications in caps on the key
	// that c names, so that a wipe can erase them (a disabled application
	// does not answer, and a new key has them all on); it waits for the
	// key to restart and reads the result back. A locked configuration
	// fails with device.ErrLocked.
	EnableForWipe(ctx context.Context, c WipeConfirmation, caps device.Capability) error
	// ResetApp erases app (AppOATH, AppOpenPGP, AppHSMAuth or AppOTP) on
	// the key that c names and returns what it holds afterwards, read
	// back. An OTP slot protected by an access code is left and fails
	// with device.ErrLocked.
	ResetApp(ctx context.Context, c WipeConfirmation, app string) (AppContents, error)
	// ReadBack reads, after a wipe, what each application of the key
	// with serial holds. It changes nothing.
	ReadBack(ctx context.Context, serial uint32) (WipeReadBack, error)
	Close() error
}

// The applications a wipe erases besides PIV and FIDO2, as ykman names
// them (docs/yubikey-protocol.md §12).
const (
	AppOATH    = "OATH"
	AppOpenPGP = "OpenPGP"
	AppHSMAuth = "YubiHSM Auth"
	AppOTP     = "OTP"
)

// otherApps are those applications in the order a wipe erases them, with
// their capability bits.
var otherApps = []struct {
	name string
	cap  device.Capability
}{{AppOATH, device.CapOATH}, {AppOpenPGP, device.CapOpenPGP}, {AppHSMAuth, device.CapHSMAuth}, {AppOTP, device.CapOTP}}

// AppContents is what one application holds, read without a PIN.
type AppContents struct {
	App string
	// Factory: nothing of an owner was readable, and PINs and retry
	// counters are the factory ones where the application shows them.
	Factory bool
	// Summary says what was found: "2 accounts", "slot 1 programmed".
	Summary string
}

// WipeReadBack is what a key holds after a wipe, as read at At.
type WipeReadBack struct {
	At time.Time
	// PIV is nil when PIV was not read (not enabled).
	PIV             *device.PIVState
	PIVCertificates []byte
	// FIDO is nil when the key's FIDO2 interface was not found.
	FIDO *device.FIDOState
	// Apps holds OATH, OpenPGP, YubiHSM Auth and OTP where the key has them.
	Apps []AppContents
}

// WipeRecorder records a finished wipe in the onboarding tracker: the key
// retired with the reason "wiped" and what was erased, in IT's name.
type WipeRecorder interface {
	// RecordWipe returns once the tracker has answered.
	RecordWipe(ctx context.Context, r WipeRecord) (WipeRecorded, error)
	// Destination names the tracker, for the person.
	Destination() string
}

// WipeRecord is the wipe as the tracker records it.
type WipeRecord struct {
	Serial uint32
	// Erased are the applications erased and read back at factory
	// state, by name ("PIV", "OATH", ...).
	Erased []string
}

// WipeRecorded is what the tracker answered.
type WipeRecorded struct {
	Owner  string // the former owner's name, "" when the tracker did not know the key's owner
	Status string // the key's status now ("retired")
	// AlreadyRetired: the tracker had retired the key before, and a
	// retired key's status changes no more; this wipe is not recorded.
	AlreadyRetired bool
}

// WipeTarget is what keywizard key wipe shows before it erases anything.
type WipeTarget struct {
	// Key is the key with its FIDO2 state (nil when its FIDO interface was
	// not found) and PIV state (nil when PIV was not read).
	Key device.Key
	// PIVCertificates are the PIV slots holding a certificate (0x9A, ...).
	PIVCertificates []byte
	// Apps is what OATH, OpenPGP, YubiHSM Auth and OTP hold, for those
	// enabled over USB.
	Apps []AppContents
}

// WipeConfirmation names the key the person confirmed erasing: the serial
// they typed (or passed as --confirm-serial) and the model they were shown.
type WipeConfirmation struct {
	Serial uint32
	Model  string
}

// OTPRequest asks to disable OTP on one key.
type OTPRequest struct {
	Serial   uint32 // 0: the only connected key
	NFC      bool
	LockCode []byte // nil: none given
}

// OTPResult says what DisableOTP did.
type OTPResult struct {
	Key     device.Key // as read back after the change
	Changed []string   // human lines, e.g. "USB: OTP disabled"
}

// Env is everything the commands touch outside themselves.
type Env struct {
	Out, Err io.Writer
	In       io.Reader
	// OpenDevices opens the hardware layer; called only by commands that need it.
	OpenDevices func(ctx context.Context) (Devices, error)
	// RunSim runs one simulated key until ctx ends (keywizard sim).
	RunSim func(ctx context.Context, opts SimOptions) error
	// OpenWipeRecorder opens the tracker at url (empty: the one this
	// computer signed in to) with IT's token from the keychain, for key
	// wipe --record and --tracker; nil when this build cannot record
	// wipes. Called before anything is erased.
	OpenWipeRecorder func(ctx context.Context, url string) (WipeRecorder, error)
	// Now is the clock read-backs are stamped with; nil = time.Now.
	Now func() time.Time
}

// SimOptions are the flags of keywizard sim.
type SimOptions struct {
	Serial   uint32
	Model    string
	Firmware string
	Slot     int
	// HID is where the key's FIDO HID node appears (Linux), "" for none.
	HID string
	// State is the key's state file, "" for a key that forgets.
	State string
	// NoFIDOCCID keeps the FIDO2 application off the reader.
	NoFIDOCCID bool
}

// usageError marks errors in flags and arguments (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// ExitCode maps an error from a command to the documented exit code.
func ExitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, device.ErrAmbiguous):
		return ExitAmbiguous
	case errors.Is(err, device.ErrLocked):
		return ExitLocked
	case errors.Is(err, device.ErrRemoved):
		return ExitRemoved
	case errors.Is(err, device.ErrUnsupported):
		return ExitUnsupported
	case errors.Is(err, device.ErrNotFound):
		return ExitNotFound
	}
	return ExitError
}

// NewRoot builds the keywizard command tree. gui runs when no command is
// given; extra commands (the tracker's) are mounted as they are.
func NewRoot(env Env, version string, gui func(simulate bool) error, extra ...*cobra.Command) *cobra.Command {
	var simulate bool
	root := &cobra.Command{
		Use:   "keywizard",
		Short: "Set up YubiKeys for work, and prove it",
		Long: "keywizard walks you through registering both of your YubiKeys with every work service,\n" +
			"verifies what can be verified, disables OTP, and reports completion.\n\n" +
			"With no command it starts the app. Exit codes: 0 ok, 1 error, 2 usage, 3 key not found,\n" +
			"4 several keys match (pass --serial), 5 configuration locked, 6 key removed, 7 unsupported.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return gui(simulate)
		},
	}
	root.Flags().BoolVar(&simulate, "simulate", false, "run the wizard against two simulated keys (no hardware needed)")
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	root.SetIn(env.In)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newKeysCmd(env), newKeyCmd(env), newOTPCmd(env), newSimCmd(env))
	root.AddCommand(extra...)
	return root
}

// Execute runs root with args and returns the exit code, printing errors as
// "keywizard: error: ..." on stderr.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if ue := (*usageError)(nil); errors.As(err, &ue) || isCobraUsage(err) {
			fmt.Fprintf(root.ErrOrStderr(), "keywizard: %v\nRun 'keywizard --help' for usage.\n", err)
			return ExitUsage
		}
		fmt.Fprintf(root.ErrOrStderr(), "keywizard: error: %v\n", err)
	}
	return ExitCode(err)
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of args), which cobra returns untyped.
func isCobraUsage(err error) bool {
	var ae *argsError
	return errors.As(err, &ae)
}

// argsError wraps cobra argument validation so it maps to ExitUsage.
type argsError struct{ err error }

func (e *argsError) Error() string { return e.err.Error() }

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &argsError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
