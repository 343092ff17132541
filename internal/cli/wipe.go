package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/device"
)

// ReplugTimeout is how long key wipe waits for the key to be unplugged and
// plugged back in before the FIDO2 reset; then it stops with FIDO2 not
// erased. Long enough to find a key in a laptop's side, short enough that
// a forgotten terminal does not erase a key plugged in an hour later.
const ReplugTimeout = 2 * time.Minute

// fidoResetWindow is what people are told: a YubiKey allows a FIDO2 reset
// only within 5 seconds of being plugged in (device/fido ResetWindow;
// internal/cli may not import device/fido, so the figure is repeated).
const fidoResetWindow = "5 seconds"

// errNotConfirmed: the person did not confirm the wipe. Nothing was
// changed; exit code 1.
var errNotConfirmed = errors.New("the wipe was not confirmed")

// WipePart is one application key wipe erases, and how far it got.
type WipePart struct {
	Name  string // "PIV", "FIDO2"
	State PartState
	// Note says why a part is not erased, or what may be left; empty
	// when erased.
	Note string
}

// PartState is how far the wipe of one application got.
type PartState int

// Part states. PartUnknown is for an operation cut short (the key pulled
// out while it ran): keywizard does not claim either way.
const (
	PartPending PartState = iota
	PartErased
	PartNotErased
	PartUnknown
)

func (s PartState) String() string {
	switch s {
	case PartErased:
		return "erased"
	case PartNotErased:
		return "not erased"
	case PartUnknown:
		return "may be partly erased"
	}
	return "not started"
}

// WipeError is a wipe that stopped after it began erasing or was about to:
// it says which parts were erased and which not, and unwraps to the cause
// (device.ErrRemoved and the rest), so the exit code follows the cause.
type WipeError struct {
	Serial uint32
	Model  string
	Parts  []WipePart
	Err    error
}

func (e *WipeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wiping %s (serial %d) stopped: %v", e.Model, e.Serial, e.Err)
	for _, p := range e.Parts {
		state := p.State
		if state == PartPending {
			state = PartNotErased
		}
		fmt.Fprintf(&b, "\n  %s: %s", p.Name, state)
		if p.Note != "" {
			fmt.Fprintf(&b, " (%s)", p.Note)
		}
	}
	fmt.Fprintf(&b, "\nPlug the key in and run 'keywizard key wipe --serial %d' again; erasing a part again is harmless.", e.Serial)
	return b.String()
}

func (e *WipeError) Unwrap() error { return e.Err }

func newKeyCmd(env Env) *cobra.Command {
	key := &cobra.Command{
		Use:   "key",
		Short: "Act on one key: wipe a found key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("key needs a command: keywizard key wipe --serial N")
		},
	}
	key.AddCommand(newWipeCmd(env))
	return key
}

func newWipeCmd(env Env) *cobra.Command {
	var serialFlag, confirmFlag string
	var yes bool
	cmd := &cobra.Command{
		Use:   "wipe --serial N",
		Short: "Erase one key back to factory settings (PIV and FIDO2)",
		Long: "Erase a key so it can be handed to someone else: its PIV application (keys, certificates,\n" +
			"PIN, PUK and management key back to factory settings) and its FIDO2 application (every\n" +
			"passkey and security-key login, and the FIDO2 PIN). OTP slots, OATH accounts, OpenPGP keys\n" +
			"and which applications are enabled are left as they are (keywizard cannot erase those yet).\n\n" +
			"--serial is required, even with one key plugged in. keywizard shows the key (model, serial,\n" +
			"firmware, form factor) and what is on it, then asks you to type its serial number back;\n" +
			"anything else cancels with nothing changed. For scripts, --confirm-serial N with the same\n" +
			"number replaces the question. A key that cannot be told apart from another is refused.\n\n" +
			"A YubiKey allows a FIDO2 reset only within " + fidoResetWindow + " of being plugged in, and only with\n" +
			"a touch: after erasing PIV keywizard asks you to unplug the key and plug it back in, starts\n" +
			"the reset as soon as the key is back, and asks you to touch it when it blinks.\n\n" +
			"If the key is pulled out part-way, keywizard says which parts were erased and exits 6.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			serial, err := parseSerial("--serial", serialFlag)
			if err != nil {
				return err
			}
			var confirmed bool
			switch {
			case confirmFlag != "":
				c, err := parseSerial("--confirm-serial", confirmFlag)
				if err != nil {
					return err
				}
				if c != serial {
					return fmt.Errorf("%w: --confirm-serial %d is not the --serial %d; nothing was changed", errNotConfirmed, c, serial)
				}
				confirmed = true
			case yes:
				return usagef("--yes is not enough to wipe a key: pass --confirm-serial %d (the same serial number) instead", serial)
			}
			devs, err := env.OpenDevices(cmd.Context())
			if err != nil {
				return err
			}
			defer devs.Close()
			w := &wipe{out: cmd.OutOrStdout(), in: cmd.InOrStdin(), devs: devs, serial: serial}
			return w.run(cmd.Context(), confirmed)
		},
	}
	cmd.Flags().StringVar(&serialFlag, "serial", "", "serial number of the key to erase (required)")
	cmd.Flags().StringVar(&confirmFlag, "confirm-serial", "", "the same serial number again, to confirm without the question (for scripts)")
	cmd.Flags().BoolVar(&yes, "yes", false, "not enough on its own: use --confirm-serial")
	cmd.Flags().MarkHidden("yes")
	return cmd
}

// parseSerial reads a key serial number from a flag; empty or malformed is
// a usage error.
func parseSerial(flag, s string) (uint32, error) {
	if s == "" {
		return 0, usagef("%s is required: the serial number of the key to erase, as printed by keywizard keys", flag)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, usagef("%s %q is not a key serial number (digits, as printed by keywizard keys)", flag, s)
	}
	return uint32(n), nil
}

// wipe is one run of keywizard key wipe.
type wipe struct {
	out    io.Writer
	in     io.Reader
	devs   Devices
	serial uint32

	key   device.Key
	parts []*WipePart // in the order they are erased
}

func (w *wipe) run(ctx context.Context, confirmed bool) error {
	t, err := w.devs.WipeTarget(ctx, w.serial)
	if err != nil {
		return nothingChanged(fmt.Errorf("reading key %d: %w", w.serial, err))
	}
	w.key = t.Key
	doPIV, doFIDO, err := w.plan()
	if err != nil {
		return nothingChanged(err)
	}
	w.describe(t, doPIV, doFIDO)
	if !confirmed {
		if err := w.ask(); err != nil {
			return err
		}
	}
	c := WipeConfirmation{Serial: w.serial, Model: w.key.Model}
	var piv, fido *WipePart
	if doPIV {
		piv = w.part("PIV")
	}
	if doFIDO {
		fido = w.part("FIDO2")
	}
	if piv != nil {
		fmt.Fprintln(w.out, "Erasing PIV...")
		if err := w.devs.ResetPIV(ctx, c); err != nil {
			piv.State, piv.Note = pivFailure(err)
			return w.stopped(err)
		}
		piv.State = PartErased
		fmt.Fprintln(w.out, "PIV erased.")
	}
	if fido != nil {
		if err := w.resetFIDO(ctx, c, fido); err != nil {
			return w.stopped(err)
		}
	}
	fmt.Fprintf(w.out, "%s (serial %d) is erased", w.key.Model, w.serial)
	if len(w.parts) > 0 {
		names := make([]string, len(w.parts))
		for i, p := range w.parts {
			names[i] = p.Name
		}
		fmt.Fprintf(w.out, " (%s back to factory settings)", strings.Join(names, " and "))
	}
	fmt.Fprintln(w.out, " and can be handed to someone else.")
	// The tracker still lists the key with its former owner, and refuses
	// to record it for anyone else until it is retired there (a key has
	// one owner at a time in the tracker), so the wipe is recorded where IT's audit log is.
	fmt.Fprintf(w.out, "If the onboarding tracker knows this key, mark serial %d retired on its former owner's page in the\n"+
		"dashboard (with the reason), so the audit log records it and it can be enrolled for someone else.\n", w.serial)
	return nil
}

// plan decides which applications to erase, and refuses a key keywizard
// cannot erase completely before anything is changed: a FIDO2 side that
// cannot be told apart from another key's, or that is there but not
// reachable. An application the key does not have is skipped.
func (w *wipe) plan() (doPIV, doFIDO bool, err error) {
	k := w.key
	name := fmt.Sprintf("%s (serial %d)", k.Model, k.Serial)
	if k.FIDOMatch == device.MatchAmbiguous {
		return false, false, fmt.Errorf("%s: its FIDO2 interface cannot be told apart from another key's, so the FIDO2 reset could reach the wrong key; unplug the other keys and run again: %w",
			name, device.ErrAmbiguous)
	}
	supported, enabled := k.Info.USBSupported, k.Info.USBEnabled
	if supported&device.CapPIV != 0 {
		if enabled&device.CapPIV == 0 {
			return false, false, fmt.Errorf("%s: PIV is disabled over USB, so keywizard cannot erase it; enable it (ykman config usb --enable PIV) and run again: %w", name, device.ErrUnsupported)
		}
		doPIV = true
	}
	if supported&device.CapFIDO2 != 0 {
		switch {
		case enabled&device.CapFIDO2 == 0:
			return false, false, fmt.Errorf("%s: FIDO2 is disabled over USB, so keywizard cannot erase its passkeys; enable it (ykman config usb --enable FIDO2) and run again: %w", name, device.ErrUnsupported)
		case k.FIDO == nil:
			return false, false, fmt.Errorf("%s: its FIDO2 interface was not found, so keywizard cannot erase its passkeys (on Linux, check that you may use /dev/hidraw*); run again once 'keywizard keys' shows its FIDO2 PIN state: %w",
				name, device.ErrNotFound)
		}
		doFIDO = true
	}
	if !doPIV && !doFIDO {
		return false, false, fmt.Errorf("%s has neither PIV nor FIDO2, the applications keywizard erases: %w", name, device.ErrUnsupported)
	}
	return doPIV, doFIDO, nil
}

// describe prints the key and what the wipe will erase on it. PINs, PUKs
// and management keys are never printed; only whether they are set.
func (w *wipe) describe(t WipeTarget, doPIV, doFIDO bool) {
	k := w.key
	fmt.Fprintf(w.out, "This erases %s, serial %d (firmware %s, %s):\n", k.Model, k.Serial, k.Info.Version, k.Info.FormFactor)
	if doFIDO {
		pin := "no FIDO2 PIN is set"
		if k.FIDO.PINSet {
			pin = "its FIDO2 PIN is set and is removed"
		}
		// Counting passkeys needs the FIDO2 PIN, which a found key's
		// finder does not have.
		fmt.Fprintf(w.out, "  FIDO2: all passkeys and security-key logins on it; %s\n", pin)
	}
	if doPIV {
		certs := "no certificates"
		if len(t.PIVCertificates) > 0 {
			slots := make([]string, len(t.PIVCertificates))
			for i, s := range t.PIVCertificates {
				slots[i] = fmt.Sprintf("%02x", s)
			}
			certs = "certificates in slots " + strings.Join(slots, ", ")
		}
		fmt.Fprintf(w.out, "  PIV: every key and certificate (%s); PIN, PUK and management key back to factory settings%s\n", certs, pivChanged(k.PIV))
	}
	fmt.Fprintln(w.out, "  Left as they are: OTP slots, OATH accounts, OpenPGP keys, enabled applications.")
}

// pivChanged says which PIV secrets are not the factory ones, where the
// firmware tells (5.3 and later).
func pivChanged(st *device.PIVState) string {
	if st == nil {
		return ""
	}
	var changed []string
	for _, c := range []struct {
		name string
		def  *bool
	}{{"PIN", st.DefaultPIN}, {"PUK", st.DefaultPUK}, {"management key", st.DefaultMgmtKey}} {
		if c.def != nil && !*c.def {
			changed = append(changed, c.name)
		}
	}
	if len(changed) == 0 {
		return ""
	}
	return " (now changed: " + strings.Join(changed, ", ") + ")"
}

// ask has the person type the serial number back. The line typed is not
// echoed back: it could be anything, a PIN typed in the wrong window too.
func (w *wipe) ask() error {
	fmt.Fprintf(w.out, "Type the serial number %d to erase this key, or anything else to cancel: ", w.serial)
	line, err := bufio.NewReader(w.in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(w.out)
		return fmt.Errorf("%w: no answer on standard input; nothing was changed (for scripts: --confirm-serial %d)", errNotConfirmed, w.serial)
	}
	if strings.TrimSpace(line) != strconv.FormatUint(uint64(w.serial), 10) {
		return fmt.Errorf("%w: what was typed is not the serial number %d; nothing was changed", errNotConfirmed, w.serial)
	}
	return nil
}

// resetFIDO has the key replugged and resets FIDO2 as soon as it is back.
func (w *wipe) resetFIDO(ctx context.Context, c WipeConfirmation, part *WipePart) error {
	rctx, cancel := context.WithTimeout(ctx, ReplugTimeout)
	defer cancel()
	err := w.devs.WaitReplug(rctx, w.serial, func() {
		fmt.Fprintf(w.out, "Now unplug the key and plug it back in. A YubiKey allows a FIDO2 reset only in the first %s;\n"+
			"keywizard starts it as soon as the key is back. Then touch the key when it blinks.\n", fidoResetWindow)
	})
	if err != nil {
		part.State = PartNotErased
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			part.Note = fmt.Sprintf("the key was not plugged back in within %s", ReplugTimeout)
		}
		return fmt.Errorf("waiting for the key to be plugged back in: %w", err)
	}
	fmt.Fprintln(w.out, "Erasing FIDO2...")
	err = w.devs.ResetFIDO(ctx, c, func(waiting bool) {
		if waiting {
			fmt.Fprintln(w.out, "Touch the key now (it blinks).")
		}
	})
	if err != nil {
		part.State, part.Note = fidoFailure(err)
		return err
	}
	part.State = PartErased
	fmt.Fprintln(w.out, "FIDO2 erased.")
	return nil
}

func (w *wipe) part(name string) *WipePart {
	p := &WipePart{Name: name}
	w.parts = append(w.parts, p)
	return p
}

func (w *wipe) stopped(err error) error {
	e := &WipeError{Serial: w.serial, Model: w.key.Model, Err: err}
	for _, p := range w.parts {
		e.Parts = append(e.Parts, *p)
	}
	return e
}

// pivFailure says what a failed PIV reset left. The device layer checks
// the key's identity before erasing (a mismatch or a key not found means
// nothing was erased); piv-go's reset blocks the PIN and PUK with wrong
// tries before the reset command, so anything cut short may have left
// them blocked, which the next wipe clears.
func pivFailure(err error) (PartState, string) {
	switch {
	case errors.Is(err, device.ErrInvalidArgument), errors.Is(err, device.ErrAmbiguous), errors.Is(err, device.ErrNotFound):
		return PartNotErased, ""
	case errors.Is(err, device.ErrRemoved):
		return PartUnknown, "the key was removed while PIV was being erased; its PIN and PUK may be blocked until the wipe is finished"
	}
	return PartUnknown, "its PIN and PUK may be blocked until the wipe is finished"
}

// fidoFailure says what a failed FIDO2 reset left, with what to do where
// the person can act.
func fidoFailure(err error) (PartState, string) {
	switch {
	case errors.Is(err, device.ErrTouchRequired):
		return PartNotErased, "the key was not touched in time; touch it when it blinks"
	case errors.Is(err, device.ErrRemoved):
		return PartUnknown, "the key was removed while FIDO2 was being erased"
	case errors.Is(err, ErrResetNotAllowed):
		return PartNotErased, "the key allowed no reset: more than " + fidoResetWindow + " had passed since it was plugged in; when asked, unplug it and plug it straight back in, with no other program using it"
	case errors.Is(err, device.ErrInvalidArgument), errors.Is(err, device.ErrAmbiguous), errors.Is(err, device.ErrNotFound), errors.Is(err, device.ErrUnsupported):
		return PartNotErased, ""
	}
	return PartUnknown, ""
}

// ErrResetNotAllowed is what Devices.ResetFIDO's error matches when the key
// refused the reset because it was not just plugged in. It stands for
// device/fido's ErrResetNotAllowed, which internal/cli may not import
// (ARCHITECTURE.md); the adapter makes the error match both.
var ErrResetNotAllowed = errors.New("the key allows a FIDO2 reset only just after it is plugged in")

// nothingChanged marks a refusal before anything was erased with what to
// do next.
func nothingChanged(err error) error {
	if errors.Is(err, device.ErrAmbiguous) {
		return fmt.Errorf("%w\nNothing was changed. Run 'keywizard keys' to see the serials and FIDO2 matches", err)
	}
	return fmt.Errorf("%w\nNothing was changed", err)
}
