package cli

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/device"
)

func newOTPCmd(env Env) *cobra.Command {
	otp := &cobra.Command{
		Use:   "otp",
		Short: "Manage the keys' OTP application",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("otp needs a command: keywizard otp disable (add --serial N when more than one key is plugged in)")
		},
	}
	var serial string
	var nfc, lockStdin bool
	disable := &cobra.Command{
		Use:   "disable",
		Short: "Disable OTP over USB (and NFC) on one key",
		Long: "Disable the OTP application over USB (and over NFC with --nfc) on exactly one key, so a\n" +
			"stray touch no longer types a one-time password. FIDO2, PIV and OATH keep working.\n" +
			"The key restarts; keywizard waits for it and reads the result back.\n\n" +
			"--serial is needed when more than one key is connected. A key protected by a\n" +
			"configuration lock code needs --lock-code-stdin (32 hex digits on standard input).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := OTPRequest{NFC: nfc}
			if serial != "" {
				n, err := strconv.ParseUint(serial, 10, 32)
				if err != nil || n == 0 {
					return usagef("--serial %q is not a key serial number (digits, as printed by keywizard keys)", serial)
				}
				req.Serial = uint32(n)
			}
			if lockStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return usagef("--lock-code-stdin: no lock code on standard input")
				}
				code, err := hex.DecodeString(strings.TrimSpace(line))
				if err != nil || len(code) != 16 {
					// The code itself is never echoed.
					return usagef("--lock-code-stdin: the lock code must be 32 hex digits")
				}
				req.LockCode = code
			}
			devs, err := env.OpenDevices(cmd.Context())
			if err != nil {
				return err
			}
			defer devs.Close()
			res, err := devs.DisableOTP(cmd.Context(), req)
			if err != nil {
				return otpHint(err)
			}
			k := res.Key
			if len(res.Changed) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (serial %d): OTP was already disabled; nothing changed.\n", k.Model, k.Serial)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (serial %d):\n", k.Model, k.Serial)
			for _, c := range res.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", c)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Now enabled over USB: %s\n", orNone(k.Info.USBEnabled.Names()))
			if k.Info.HasNFC {
				fmt.Fprintf(cmd.OutOrStdout(), "Now enabled over NFC: %s\n", orNone(k.Info.NFCEnabled.Names()))
			}
			return nil
		},
	}
	disable.Flags().StringVar(&serial, "serial", "", "serial number of the key (needed when several keys are connected)")
	disable.Flags().BoolVar(&nfc, "nfc", false, "also disable OTP over NFC")
	disable.Flags().BoolVar(&lockStdin, "lock-code-stdin", false, "read the configuration lock code (32 hex digits) from standard input")
	otp.AddCommand(disable)
	return otp
}

// otpHint adds what to do next to the errors a person can act on.
func otpHint(err error) error {
	switch {
	case errors.Is(err, device.ErrAmbiguous):
		return fmt.Errorf("%w\nRun 'keywizard keys' to see the serials, then pass --serial", err)
	case errors.Is(err, device.ErrLocked):
		return fmt.Errorf("%w\nIf you know the lock code, pass it with --lock-code-stdin; otherwise ask IT", err)
	}
	return err
}
