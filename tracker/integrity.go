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
// (items[2].at). startDate is the person's YYYY-MM-DD; an unreadable one
// bounds only the future.
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
	}
	return nil
}
