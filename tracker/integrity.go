package tracker

import (
	"fmt"
	"time"
)

// Bounds on the times a wizard may put on a report's items. The clock of a
// new hire's laptop is not evidence: a time before the person started
// (less a day for time zones and a set-up the evening before) or after the
// server's now (plus a few minutes of clock drift) is refused, so no item
// can be back-dated into an earlier audit period, nor dated in the future
// where it would outrank every later report of that service.
const (
	ItemBeforeStart = 24 * time.Hour
	ItemClockSkew   = 5 * time.Minute
)

// CheckItemTimes refuses an item whose time lies outside [start date -
// [ItemBeforeStart], now + [ItemClockSkew]], naming the item's field
// (items[2].at), and one checked after now + [ItemClockSkew]
// (items[2].checked_at). startDate is the person's YYYY-MM-DD; an
// unreadable one bounds only the future.
func (r *Report) CheckItemTimes(startDate string, now time.Time) error {
	latest := now.Add(ItemClockSkew)
	var earliest time.Time
	if d, err := ParseDate(startDate); err == nil {
		earliest = d.Add(-ItemBeforeStart)
	}
	for i, it := range r.Items {
		field := fmt.Sprintf("items[%d].at", i)
		if it.At.After(latest) {
			return fieldErr(field, "%s is in the future (the tracker's time is %s); check the computer's clock",
				it.At.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if !earliest.IsZero() && it.At.Before(earliest) {
			return fieldErr(field, "%s is before the person's start date %s", it.At.UTC().Format(time.RFC3339), startDate)
		}
		// checked_at is at or after at (Validate), so only the future is
		// left to refuse; the tracker keeps it and shows it as a check.
		if it.CheckedAt.After(latest) {
			return fieldErr(fmt.Sprintf("items[%d].checked_at", i), "%s is in the future (the tracker's time is %s); check the computer's clock",
				it.CheckedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Policy is what makes a person complete, beyond every required service on
// each counted key (always required). The server's configuration sets it;
// the store decides completion by it and the views show it.
type Policy struct {
	// BothKeys: the backup key must be done too, not only the everyday one.
	BothKeys bool `json:"both_keys"`
	// OTPOff: the YubiKey OTP slot must be reported turned off on each
	// counted key (docs/yubikey-protocol.md: OTP types a secret when the
	// key is touched by accident).
	OTPOff bool `json:"otp_off"`
	// Genuine: each counted key must have a PIV attestation that chained
	// to a Yubico root.
	Genuine bool `json:"genuine"`
}

// DefaultPolicy is the server's default: both keys active, every service,
// OTP off, both keys genuine.
var DefaultPolicy = Policy{BothKeys: true, OTPOff: true, Genuine: true}

// LegacyPolicy is what completion meant before the policy was configurable
// (genuine keys not required). [BuildTeamView] and [Complete] keep it.
var LegacyPolicy = Policy{BothKeys: true, OTPOff: true}

// String names the policy in plain words, for exports and the dashboard.
func (p Policy) String() string {
	s := "everyday key"
	if p.BothKeys {
		s = "both keys"
	}
	s += " active with every service"
	if p.OTPOff {
		s += ", OTP off"
	}
	if p.Genuine {
		s += ", genuine (attested)"
	}
	return s
}

func (p Policy) cellDone(c Cell, services []string) bool {
	if c.Serial == 0 || (p.OTPOff && !c.OTPDisabled) || (p.Genuine && !c.Genuine) {
		return false
	}
	for _, s := range services {
		if !c.Has(s) {
			return false
		}
	}
	return true
}

func (p Policy) met(r Row, services []string) bool {
	return p.cellDone(r.Everyday, services) && (!p.BothKeys || p.cellDone(r.Backup, services))
}

// Complete reports whether one person's keys and items make them complete
// under p.
func (p Policy) Complete(person Person, keys []Key, items []Item, services []string) bool {
	v := BuildTeamViewPolicy(Person{}, []Person{person}, keys, items, services, time.Time{}, p)
	return len(v.Rows) == 1 && v.Rows[0].Complete
}
