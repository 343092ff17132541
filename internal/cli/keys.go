package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/device"
)

// KeyJSON is one element of `keywizard keys --json`. Its field names are a
// stable interface for scripts: add fields, never rename them.
type KeyJSON struct {
	Serial       uint32            `json:"serial"`
	Model        string            `json:"model"`
	FormFactor   string            `json:"form_factor"`
	Firmware     string            `json:"firmware"`
	USBSupported []string          `json:"usb_supported"`
	USBEnabled   []string          `json:"usb_enabled"`
	NFCSupported []string          `json:"nfc_supported"`
	NFCEnabled   []string          `json:"nfc_enabled"`
	ConfigLocked bool              `json:"config_locked"`
	FIDOPINSet   *bool             `json:"fido_pin_set"` // null: FIDO interface not found or not tied to this key
	FIDOMatch    string            `json:"fido_match"`
	FIDO         *device.FIDOState `json:"fido,omitempty"`
	PIV          *device.PIVState  `json:"piv,omitempty"`
	Reader       string            `json:"reader"`

	// What firmware 5.7 and later report (device-info tags 13-21), and
	// ykman's verdict on misreported NFC; omitted when not reported.
	PartNumber       string   `json:"part_number,omitempty"`
	FIPS             bool     `json:"fips,omitempty"`
	SecurityKey      bool     `json:"security_key,omitempty"`
	FIPSCapable      []string `json:"fips_capable,omitempty"`
	FIPSApproved     []string `json:"fips_approved,omitempty"`
	PINComplexity    bool     `json:"pin_complexity,omitempty"`
	NFCRestricted    bool     `json:"nfc_restricted,omitempty"`
	ResetBlocked     []string `json:"reset_blocked,omitempty"`
	VersionQualifier string   `json:"version_qualifier,omitempty"`
	FPSVersion       string   `json:"fps_version,omitempty"`
	STMVersion       string   `json:"stm_version,omitempty"`
	// NFCMisreported: the key sent NFC tags but is a model known to have no
	// NFC (5C Nano, 5Ci, 5C before 5.2.4); they are ignored, as ykman does.
	NFCMisreported bool `json:"nfc_misreported,omitempty"`
}

// ToJSON converts a key to its JSON form.
func ToJSON(k device.Key) KeyJSON {
	j := KeyJSON{
		Serial:       k.Serial,
		Model:        k.Model,
		FormFactor:   k.Info.FormFactor.String(),
		Firmware:     k.Info.Version.String(),
		USBSupported: k.Info.USBSupported.Names(),
		USBEnabled:   k.Info.USBEnabled.Names(),
		NFCSupported: k.Info.NFCSupported.Names(),
		NFCEnabled:   k.Info.NFCEnabled.Names(),
		ConfigLocked: k.Info.ConfigLocked,
		FIDOMatch:    string(k.FIDOMatch),
		FIDO:         k.FIDO,
		PIV:          k.PIV,
		Reader:       k.Reader,
	}
	if j.FIDOMatch == "" {
		j.FIDOMatch = "none"
	}
	i := k.Info
	j.PartNumber, j.FIPS, j.SecurityKey = i.PartNumber, i.FIPSSeries(), i.SKY
	j.FIPSCapable, j.FIPSApproved, j.ResetBlocked = namesOrNil(i.FIPSCapable), namesOrNil(i.FIPSApproved), namesOrNil(i.ResetBlocked)
	j.PINComplexity, j.NFCRestricted, j.NFCMisreported = i.PINComplexity, i.NFCRestricted, i.NFCMisreported
	if i.Qualifier != nil {
		j.VersionQualifier = i.Qualifier.String()
	}
	if i.FPSVersion != (device.Version{}) {
		j.FPSVersion = i.FPSVersion.String()
	}
	if i.STMVersion != (device.Version{}) {
		j.STMVersion = i.STMVersion.String()
	}
	if k.FIDO != nil {
		set := k.FIDO.PINSet
		j.FIDOPINSet = &set
	}
	return j
}

func newKeysCmd(env Env) *cobra.Command {
	var asJSON, withPIV bool
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List the connected YubiKeys",
		Long: "List the connected YubiKeys: serial, model, form factor, firmware, applications enabled\n" +
			"over USB and NFC, FIDO2 PIN state and the reader each sits in.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			devs, err := env.OpenDevices(cmd.Context())
			if err != nil {
				return err
			}
			defer devs.Close()
			keys, err := devs.Keys(cmd.Context(), withPIV)
			if err != nil && len(keys) == 0 {
				return fmt.Errorf("listing keys: %w", err)
			}
			// Keys read from the other readers are still listed; the error
			// (a reader in use by another program, say) follows on stderr
			// and makes the exit status non-zero, so a script notices.
			partial := err
			if asJSON {
				out := make([]KeyJSON, 0, len(keys))
				for _, k := range keys {
					out = append(out, ToJSON(k))
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
				return partialErr(partial)
			}
			if len(keys) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No YubiKey found. Plug one in and run this again.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tMODEL\tFIRMWARE\tUSB ENABLED\tNFC ENABLED\tFIDO2 PIN\tREADER")
			for _, k := range keys {
				j := ToJSON(k)
				nfc := "-"
				if k.Info.HasNFC {
					nfc = orNone(j.NFCEnabled)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Serial, k.Model, j.Firmware,
					orNone(j.USBEnabled), nfc, pinText(k), k.Reader)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, k := range keys {
				if n := notes(k.Info); n != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%d: %s\n", k.Serial, n)
				}
			}
			return partialErr(partial)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (fields: serial, model, form_factor, firmware, usb_enabled, nfc_enabled, fido_pin_set, reader, ...)")
	cmd.Flags().BoolVar(&withPIV, "piv", false, "also read PIV state (PIN/PUK retries, factory defaults)")
	return cmd
}

func namesOrNil(c device.Capability) []string {
	if n := c.Names(); len(n) > 0 {
		return n
	}
	return nil
}

// notes are the lines under the table for what firmware 5.7 and later
// report: PIN complexity, FIPS, NFC restricted, blocked resets, and NFC tags
// ignored on a model without NFC.
func notes(i device.Info) string {
	var n []string
	if i.PINComplexity {
		n = append(n, "PIN complexity on (the key refuses PINs that are easy to guess)")
	}
	if i.FIPSCapable != 0 {
		n = append(n, fmt.Sprintf("FIPS capable: %s; FIPS approved: %s", i.FIPSCapable, orNone(i.FIPSApproved.Names())))
	}
	if i.NFCRestricted {
		n = append(n, "NFC restricted until the key is next plugged into USB")
	}
	if i.ResetBlocked != 0 {
		n = append(n, "reset blocked: "+i.ResetBlocked.String())
	}
	if i.NFCMisreported {
		n = append(n, "reports NFC, but this model has none (ignored, as ykman does)")
	}
	if i.Qualifier != nil && i.Qualifier.Type != device.ReleaseFinal {
		n = append(n, "pre-release firmware "+i.VersionName())
	}
	return strings.Join(n, "; ")
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

func pinText(k device.Key) string {
	switch {
	case k.FIDO == nil && k.FIDOMatch == device.MatchAmbiguous:
		return "? (cannot tell keys apart)"
	case k.FIDO == nil:
		return "?"
	case !k.FIDO.PINSet:
		return "not set"
	case k.FIDO.PINRetries >= 0:
		return fmt.Sprintf("set (%d tries left)", k.FIDO.PINRetries)
	}
	return "set"
}

// partialErr wraps an error from readers that could not be read while
// others were.
func partialErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("some readers could not be read (the keys above are complete): %w", err)
}
