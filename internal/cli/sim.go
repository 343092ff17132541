package cli

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func newSimCmd(env Env) *cobra.Command {
	var o SimOptions
	var serial uint64
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a simulated YubiKey on vsmartcard's virtual reader",
		Long: "Run one simulated YubiKey 5 attached to pcscd through vsmartcard-vpcd (slot 0 is reader\n" +
			"\"Virtual PCD 00 00\", slot 1 \"Virtual PCD 00 01\") until interrupted. keywizard, piv-go and\n" +
			"ykman (--reader \"Virtual PCD 00 00\") then see it as a key; its FIDO2 application answers\n" +
			"over the reader too. With --hid PATH (Linux) its FIDO2 side is also a FIDO HID device at\n" +
			"PATH for as long as it runs, opened by libfido2 as a USB key's (fido2-token -I PATH); keywizard\n" +
			"lists it when PATH is in KEYWIZARD_FIDO_HID_PATHS.\n\n" +
			"With --state FILE the key keeps its state (configuration, PIV PIN, PUK, management key and\n" +
			"keys, FIDO2 PIN and passkeys, retry counters) across restarts, as a real key does when\n" +
			"unplugged; a restart is a replug. FILE is the simulated key's own storage and holds its\n" +
			"secrets (mode 0600).\n\n" +
			"Models: 5c-nano, 5c-nfc, 5ci, 5-nfc, 5-nano, 5c. Variants for ykman's rules: 5c-nano-nfctags and\n" +
			"5ci-nfctags (report NFC they do not have), 5c-nfc-epin (5.7 PIN complexity), 5c-nfc-fips,\n" +
			"5c-nano-fips, bio-fido, bio-c-multi, sky-c-nfc-ee, 4 (YubiKey 4), 4-fips.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if serial == 0 || serial > 0xFFFFFFFF {
				return usagef("--serial is required: a number between 1 and 4294967295")
			}
			if o.Slot != 0 && o.Slot != 1 {
				return usagef("--slot must be 0 or 1 (vpcd has two virtual readers)")
			}
			o.Serial = uint32(serial)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := env.RunSim(ctx, o); err != nil {
				return fmt.Errorf("simulated key %d: %w", o.Serial, err)
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&serial, "serial", 0, "serial number of the simulated key (required)")
	cmd.Flags().StringVar(&o.Model, "model", "5c-nano", "model: 5c-nano, 5c-nfc, 5ci, 5-nfc, 5-nano, 5c")
	cmd.Flags().StringVar(&o.Firmware, "firmware", "", "firmware version X.Y.Z (default: the model's, 5.7.x for YubiKey 5 models)")
	cmd.Flags().IntVar(&o.Slot, "slot", 0, "vpcd slot: 0 or 1")
	cmd.Flags().StringVar(&o.State, "state", "", "keep the key's state in this file across restarts (it holds the simulated key's secrets)")
	cmd.Flags().BoolVar(&o.NoFIDOCCID, "no-fido-ccid", false, "do not answer FIDO2 over the reader (firmware before 5.8 does not)")
	cmd.Flags().StringVar(&o.HID, "hid", "", "also put the key's FIDO2 side on a FIDO HID device node at this path (Linux)")
	return cmd
}
