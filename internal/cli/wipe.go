package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	if errors.Is(e.Err, device.ErrRemoved) {
		fmt.Fprintf(&b, "\nPlug the key in and run 'keywizard key wipe --serial %d' again; erasing a part again is harmless.", e.Serial)
	} else {
		fmt.Fprintf(&b, "\nDeal with what is said above, then run 'keywizard key wipe --serial %d' again; erasing a part again is harmless.", e.Serial)
	}
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
	var serialFlag, confirmFlag, trackerFlag string
	var record bool
	var yes bool
	cmd := &cobra.Command{
		Use:   "wipe --serial N",
		Short: "Erase one key back to factory settings (every application that holds secrets)",
		Long: "Erase a key so it can be handed to someone else: every application that can hold its owner's\n" +
			"secrets is reset as Yubico's ykman resets it, then read back:\n" +
			"  PIV: keys, certificates, PIN, PUK and management key back to factory settings\n" +
			"  OATH: every TOTP/HOTP account (and its password)\n" +
			"  OpenPGP: keys, certificates, PINs and retry counters (its PINs are blocked first, then reset)\n" +
			"  YubiHSM Auth: every credential (on keys with firmware 5.4.3 or later)\n" +
			"  OTP: both slots deleted, Yubico's factory credential in slot 1 too (it cannot be restored)\n" +
			"  FIDO2: every passkey and security-key login, and the FIDO2 PIN\n" +
			"An application disabled over USB is enabled first (a new key has them all on), which restarts\n" +
			"the key. An OTP slot protected by an access code cannot be deleted without it: the wipe says so.\n\n" +
			"--serial is required, even with one key plugged in. keywizard shows the key (model, serial,\n" +
			"firmware, form factor) and what is on it, then asks you to type its serial number back;\n" +
			"anything else cancels with nothing changed. For scripts, --confirm-serial N with the same\n" +
			"number replaces the question. A key that cannot be told apart from another is refused.\n\n" +
			"A YubiKey allows a FIDO2 reset only within " + fidoResetWindow + " of being plugged in, and only with\n" +
			"a touch: after erasing the rest keywizard asks you to unplug the key and plug it back in, starts\n" +
			"the reset as soon as the key is back, and asks you to touch it when it blinks.\n\n" +
			"With --record, a finished wipe is recorded in the onboarding tracker this computer signed in to\n" +
			"(keywizard tracker login), with IT's token from the keychain; --tracker URL names another. The\n" +
			"key is retired with the reason \"wiped\" and the list of erased applications.\n\n" +
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
			w := &wipe{out: cmd.OutOrStdout(), in: cmd.InOrStdin(), serial: serial, now: env.Now}
			if w.now == nil {
				w.now = time.Now
			}
			if trackerFlag != "" || record {
				if env.OpenWipeRecorder == nil {
					return fmt.Errorf("this build of keywizard cannot record wipes in the tracker; nothing was changed. Run without --record and --tracker and mark serial %d retired in the dashboard: %w", serial, device.ErrUnsupported)
				}
				// Opened before anything is erased: a missing token
				// stops the wipe while nothing has changed.
				rec, err := env.OpenWipeRecorder(cmd.Context(), trackerFlag)
				if err != nil {
					where := "the tracker"
					if trackerFlag != "" {
						where += " at " + trackerFlag
					}
					return fmt.Errorf("opening %s: %w\nNothing was changed. Sign in to the tracker as IT first (keywizard tracker login --url URL), or run without --record and --tracker", where, err)
				}
				w.recorder = rec
			}
			devs, err := env.OpenDevices(cmd.Context())
			if err != nil {
				return err
			}
			defer devs.Close()
			w.devs = devs
			return w.run(cmd.Context(), confirmed)
		},
	}
	cmd.Flags().StringVar(&serialFlag, "serial", "", "serial number of the key to erase (required)")
	cmd.Flags().StringVar(&confirmFlag, "confirm-serial", "", "the same serial number again, to confirm without the question (for scripts)")
	cmd.Flags().BoolVar(&record, "record", false, "record the finished wipe in the onboarding tracker this computer signed in to (IT's token from the keychain)")
	cmd.Flags().StringVar(&trackerFlag, "tracker", "", "record the finished wipe in the onboarding tracker at this URL instead (IT's token from the keychain)")
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
	out      io.Writer
	in       io.Reader
	devs     Devices
	serial   uint32
	now      func() time.Time
	recorder WipeRecorder // nil without --tracker

	key   device.Key
	parts []*WipePart // in the order they are erased
}

// plan is what a wipe erases on the key.
type plan struct {
	piv, fido bool
	others    []string          // AppOATH, ... the key has over USB
	enable    device.Capability // of those, the ones disabled over USB
}

func (w *wipe) run(ctx context.Context, confirmed bool) error {
	t, err := w.devs.WipeTarget(ctx, w.serial)
	if err != nil {
		return nothingChanged(fmt.Errorf("reading key %d: %w", w.serial, err))
	}
	w.key = t.Key
	pl, err := w.plan()
	if err != nil {
		return nothingChanged(err)
	}
	w.describe(t, pl)
	if !confirmed {
		if err := w.ask(); err != nil {
			return err
		}
	}
	c := WipeConfirmation{Serial: w.serial, Model: w.key.Model}
	var piv, fido *WipePart
	if pl.piv {
		piv = w.part("PIV")
	}
	others := make([]*WipePart, len(pl.others))
	for i, name := range pl.others {
		others[i] = w.part(name)
	}
	if pl.fido {
		fido = w.part("FIDO2")
	}
	if pl.enable != 0 {
		fmt.Fprintf(w.out, "Enabling %s over USB so they can be erased (a new key has them on); the key restarts...\n", appNames(pl.enable))
		if err := w.devs.EnableForWipe(ctx, c, pl.enable); err != nil {
			note := "they could not be enabled, so keywizard did not start erasing"
			if errors.Is(err, device.ErrLocked) {
				note = "the key's configuration is locked with a lock code; unlock it (ykman config set-lock-code --clear) and run again"
			}
			for _, p := range w.parts {
				p.Note = note
			}
			return w.stopped(fmt.Errorf("enabling %s over USB: %w", appNames(pl.enable), err))
		}
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
	// An application that refuses is reported and the others are still
	// erased; a key pulled out stops everything.
	var refused error
	for _, p := range others {
		fmt.Fprintf(w.out, "Erasing %s...\n", p.Name)
		got, err := w.devs.ResetApp(ctx, c, p.Name)
		switch {
		case err != nil:
			p.State, p.Note = appFailure(p.Name, err)
			if errors.Is(err, device.ErrRemoved) {
				return w.stopped(err)
			}
			refused = errors.Join(refused, fmt.Errorf("erasing %s: %w", p.Name, err))
			fmt.Fprintf(w.out, "%s NOT erased: %s.\n", p.Name, p.Note)
		case !got.Factory:
			p.State, p.Note = PartNotErased, "read back after the reset: "+got.Summary
			refused = errors.Join(refused, fmt.Errorf("erasing %s: still %s: %w", p.Name, got.Summary, errNotFactory))
			fmt.Fprintf(w.out, "%s NOT erased: %s.\n", p.Name, p.Note)
		default:
			p.State = PartErased
			fmt.Fprintf(w.out, "%s erased (%s).\n", p.Name, got.Summary)
		}
	}
	if fido != nil {
		if err := w.resetFIDO(ctx, c, fido); err != nil {
			return w.stopped(errors.Join(refused, err))
		}
	}
	if refused != nil {
		return w.stopped(refused)
	}
	if err := w.readBack(ctx); err != nil {
		return w.stopped(err)
	}
	names := make([]string, len(w.parts))
	for i, p := range w.parts {
		names[i] = p.Name
	}
	fmt.Fprintf(w.out, "%s (serial %d) is erased (%s back to factory settings) and can be handed to someone else.\n",
		w.key.Model, w.serial, joinAnd(names))
	return w.record(ctx, names)
}

// errNotFactory: an application answered its reset, but what was read
// back is not a factory application.
var errNotFactory = errors.New("not at factory settings after the reset")

// readBack reads every erased application again, afresh, and says what it
// found; an application not at factory settings turns its part back to
// not erased.
func (w *wipe) readBack(ctx context.Context) error {
	rb, err := w.devs.ReadBack(ctx, w.serial)
	if err != nil {
		for _, p := range w.parts {
			p.State, p.Note = PartUnknown, "erased, but the read-back failed"
		}
		return fmt.Errorf("reading the key back: %w", err)
	}
	at := rb.At
	if at.IsZero() {
		at = w.now()
	}
	fmt.Fprintf(w.out, "Read back at %s:\n", at.UTC().Format("15:04:05 UTC"))
	var bad []string
	for _, p := range w.parts {
		found, factory := w.found(p.Name, rb)
		fmt.Fprintf(w.out, "  %s: %s\n", p.Name, found)
		if !factory {
			p.State, p.Note = PartNotErased, "read back: "+found
			bad = append(bad, p.Name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s not at factory settings when read back: %w", joinAnd(bad), errNotFactory)
	}
	return nil
}

// found says what the read-back shows for one part, and whether that is
// a factory application.
func (w *wipe) found(name string, rb WipeReadBack) (string, bool) {
	switch name {
	case "PIV":
		st := rb.PIV
		if st == nil {
			return "not read", false
		}
		certs := "no certificates"
		if len(rb.PIVCertificates) > 0 {
			certs = fmt.Sprintf("certificates in %d slots", len(rb.PIVCertificates))
		}
		isDefault := func(b *bool) bool { return b != nil && *b }
		// Firmware before 5.3 does not say whether the PIN is the
		// default (device.PIVState): then the tries and certificates
		// are what is known.
		known := st.DefaultPIN != nil
		factory := len(rb.PIVCertificates) == 0 && st.PINRetries == 3 && st.PUKRetries == 3 &&
			(!known || (isDefault(st.DefaultPIN) && isDefault(st.DefaultPUK) && isDefault(st.DefaultMgmtKey)))
		s := fmt.Sprintf("%s; PIN tries %d, PUK tries %d", certs, st.PINRetries, st.PUKRetries)
		if known {
			if factory {
				s += "; default PIN, PUK and management key"
			} else {
				s += pivChanged(st)
			}
		}
		return s, factory
	case "FIDO2":
		if rb.FIDO == nil {
			return "its FIDO2 interface was not found", false
		}
		if rb.FIDO.PINSet {
			return "a FIDO2 PIN is set", false
		}
		// With no PIN there is no passkey a PIN protects; a reset
		// leaves none at all (CTAP 2.1 §6.6).
		return "no FIDO2 PIN set", true
	}
	for _, a := range rb.Apps {
		if a.App == name {
			return a.Summary, a.Factory
		}
	}
	return "not read", false
}

// record tells the tracker, with --tracker, that the key was wiped.
func (w *wipe) record(ctx context.Context, erased []string) error {
	if w.recorder == nil {
		// The tracker still lists the key with its former owner, and
		// refuses to record it for anyone else until it is retired there
		// (a key has one owner at a time in the tracker).
		fmt.Fprintf(w.out, "If the onboarding tracker knows this key, mark serial %d retired on its former owner's page in the\n"+
			"dashboard (with the reason), or run the wipe with --tracker, so the audit log records it and it can be\n"+
			"enrolled for someone else.\n", w.serial)
		return nil
	}
	got, err := w.recorder.RecordWipe(ctx, WipeRecord{Serial: w.serial, Erased: erased})
	if err != nil {
		return &RecordError{Serial: w.serial, Tracker: w.recorder.Destination(), Err: err}
	}
	owner := ""
	if got.Owner != "" {
		owner = " (former owner " + got.Owner + ")"
	}
	if got.AlreadyRetired {
		fmt.Fprintf(w.out, "The tracker at %s had already retired serial %d%s; a retired key's record changes no more, so this wipe is not added to it.\n",
			w.recorder.Destination(), w.serial, owner)
		return nil
	}
	fmt.Fprintf(w.out, "Recorded in the tracker at %s: serial %d%s is %s, reason \"wiped\", erased %s.\n",
		w.recorder.Destination(), w.serial, owner, got.Status, strings.Join(erased, ", "))
	return nil
}

// RecordError is a wipe that finished on the key but was not recorded in
// the tracker. It unwraps to the tracker's error.
type RecordError struct {
	Serial  uint32
	Tracker string
	Err     error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("key %d is erased, but the tracker at %s did not record the wipe: %v\n"+
		"Mark serial %d retired with the reason \"wiped\" in the dashboard (or 'keywizard tracker key retire %d --reason wiped'); erasing it again is not needed.",
		e.Serial, e.Tracker, e.Err, e.Serial, e.Serial)
}

func (e *RecordError) Unwrap() error { return e.Err }

// plan decides which applications to erase, and refuses a key keywizard
// cannot erase completely before anything is changed: a FIDO2 side that
// cannot be told apart from another key's, or that is there but not
// reachable, or PIV or FIDO2 disabled. An application the key does not
// have is skipped; OATH, OpenPGP, YubiHSM Auth and OTP disabled over USB
// are enabled first.
func (w *wipe) plan() (plan, error) {
	k := w.key
	var pl plan
	name := fmt.Sprintf("%s (serial %d)", k.Model, k.Serial)
	if k.FIDOMatch == device.MatchAmbiguous {
		return pl, fmt.Errorf("%s: its FIDO2 interface cannot be told apart from another key's, so the FIDO2 reset could reach the wrong key; unplug the other keys and run again: %w",
			name, device.ErrAmbiguous)
	}
	supported, enabled := k.Info.USBSupported, k.Info.USBEnabled
	if supported&device.CapPIV != 0 {
		if enabled&device.CapPIV == 0 {
			return pl, fmt.Errorf("%s: PIV is disabled over USB, so keywizard cannot erase it; enable it (ykman config usb --enable PIV) and run again: %w", name, device.ErrUnsupported)
		}
		pl.piv = true
	}
	if supported&device.CapFIDO2 != 0 {
		switch {
		case enabled&device.CapFIDO2 == 0:
			return pl, fmt.Errorf("%s: FIDO2 is disabled over USB, so keywizard cannot erase its passkeys; enable it (ykman config usb --enable FIDO2) and run again: %w", name, device.ErrUnsupported)
		case k.FIDO == nil:
			return pl, fmt.Errorf("%s: its FIDO2 interface was not found, so keywizard cannot erase its passkeys (on Linux, check that you may use /dev/hidraw*); run again once 'keywizard keys' shows its FIDO2 PIN state: %w",
				name, device.ErrNotFound)
		}
		pl.fido = true
	}
	for _, a := range otherApps {
		if supported&a.cap == 0 {
			continue
		}
		pl.others = append(pl.others, a.name)
		if enabled&a.cap == 0 {
			pl.enable |= a.cap
		}
	}
	if !pl.piv && !pl.fido && len(pl.others) == 0 {
		return pl, fmt.Errorf("%s has none of the applications keywizard erases: %w", name, device.ErrUnsupported)
	}
	return pl, nil
}

// describe prints the key and what the wipe will erase on it. PINs, PUKs
// and management keys are never printed; only whether they are set.
func (w *wipe) describe(t WipeTarget, pl plan) {
	k := w.key
	fmt.Fprintf(w.out, "This erases %s, serial %d (firmware %s, %s):\n", k.Model, k.Serial, k.Info.Version, k.Info.FormFactor)
	if pl.piv {
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
	for _, a := range otherApps {
		if !slices.Contains(pl.others, a.name) {
			continue
		}
		now := "not read"
		if pl.enable&a.cap != 0 {
			now = "disabled over USB: it is enabled first"
		}
		for _, c := range t.Apps {
			if c.App == a.name {
				now = "now: " + c.Summary
			}
		}
		fmt.Fprintf(w.out, "  %s: %s (%s)\n", a.name, otherAppErases[a.name], now)
	}
	if pl.fido {
		pin := "no FIDO2 PIN is set"
		if k.FIDO.PINSet {
			pin = "its FIDO2 PIN is set and is removed"
		}
		// Counting passkeys needs the FIDO2 PIN, which a found key's
		// finder does not have.
		fmt.Fprintf(w.out, "  FIDO2: all passkeys and security-key logins on it; %s\n", pin)
	}
	if k.Info.USBSupported&device.CapHSMAuth == 0 {
		fmt.Fprintln(w.out, "  YubiHSM Auth: not on this key (it has none to erase)")
	}
}

// otherAppErases says what erasing each application removes.
var otherAppErases = map[string]string{
	AppOATH:    "every TOTP/HOTP account and its password",
	AppOpenPGP: "keys, certificates, PINs and retry counters",
	AppHSMAuth: "every credential",
	AppOTP:     "both slots, Yubico's factory credential in slot 1 too",
}

// appNames names the applications in caps as the wipe does.
func appNames(caps device.Capability) string {
	var names []string
	for _, a := range otherApps {
		if caps&a.cap != 0 {
			names = append(names, a.name)
		}
	}
	return joinAnd(names)
}

func joinAnd(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
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

// appFailure says what a failed reset of OATH, OpenPGP, YubiHSM Auth or
// OTP left, with what to do where the person can act.
func appFailure(name string, err error) (PartState, string) {
	switch {
	case errors.Is(err, device.ErrRemoved):
		if name == AppOpenPGP {
			return PartUnknown, "the key was removed while OpenPGP was being erased; its PINs may be blocked until the wipe is finished"
		}
		return PartUnknown, "the key was removed while " + name + " was being erased"
	case name == AppOTP && errors.Is(err, device.ErrLocked):
		return PartNotErased, "a slot is protected by an access code keywizard does not have; delete it with 'ykman otp --access-code CODE delete SLOT', then run the wipe again"
	case errors.Is(err, device.ErrNotFound):
		return PartNotErased, "the key did not answer for it"
	case errors.Is(err, device.ErrUnsupported):
		return PartNotErased, "the key cannot reset it"
	}
	return PartUnknown, "the key refused part of the reset"
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
