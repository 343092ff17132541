package cli

import (
	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// IntegrityOptions are `serve`'s completion policy and per-person limits,
// kept apart from the other flags.
type IntegrityOptions struct {
	Policy                  tracker.Policy
	Limits                  store.Limits
	ReportRate, ReportBurst int
}

func addIntegrityFlags(cmd *cobra.Command, o *IntegrityOptions) {
	f := cmd.Flags()
	d := tracker.DefaultPolicy
	f.BoolVar(&o.Policy.BothKeys, "policy-both-keys", d.BothKeys, "completion needs the backup key as well as the everyday key")
	f.BoolVar(&o.Policy.OTPOff, "policy-otp-off", d.OTPOff, "completion needs OTP turned off on each key")
	f.BoolVar(&o.Policy.Genuine, "policy-genuine", d.Genuine, "completion needs each key proven genuine by its PIV attestation")
	l := store.DefaultLimits
	f.IntVar(&o.Limits.Keys, "max-keys", l.Keys, "keys one person may have registered (413 keys_per_person past it)")
	f.IntVar(&o.Limits.Services, "max-services", l.Services, "distinct services across one person's items (413 services_per_person)")
	f.IntVar(&o.Limits.Items, "max-items", l.Items, "items (key and service) one person may have (413 items_per_person)")
	f.IntVar(&o.ReportRate, "report-rate", 30, "reports per minute one person may send to this instance (429 reports_per_minute past it)")
	f.IntVar(&o.ReportBurst, "report-burst", 60, "reports one person may send at once before --report-rate applies")
}

// apply sets cfg's policy and limits; zero options (RunServe called
// without flags) leave the server's defaults rather than the weakest policy.
func (o IntegrityOptions) apply(cfg *server.Config) {
	if o == (IntegrityOptions{}) {
		return
	}
	p := o.Policy
	cfg.Policy, cfg.Limits = &p, o.Limits
	cfg.ReportRate, cfg.ReportBurst = o.ReportRate, o.ReportBurst
}
