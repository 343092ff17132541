package steps

import (
	"errors"
	"testing"

	"github.com/keywizard/keywizard/steps/catalogue"
)

// TestTableIDsReserved: a catalogue service may not take a fixed step's ID
// (the catalogue keeps its own list, as it cannot import this package).
func TestTableIDsReserved(t *testing.T) {
	for _, d := range stepTable {
		if d.services != nil {
			continue
		}
		data := []byte(`{"schema":1,"services":[{"id":"` + string(d.id) + `","name":"X","url":"https://x.example.com/","instructions":["a"],"verification":{"kind":"self-attest"}}]}`)
		if _, err := catalogue.Parse("x.json", data); !errors.Is(err, catalogue.ErrInvalid) {
			t.Errorf("a service with the ID of step %q is accepted: %v", d.id, err)
		}
	}
}

// TestTableComplete: every row has what the wizard reads from it, and
// every kind has one row (ui picks a screen per kind).
func TestTableComplete(t *testing.T) {
	kinds := map[Kind]bool{}
	for i, d := range stepTable {
		if (d.id == "") == (d.services == nil) {
			t.Errorf("row %d: exactly one of id and services must be set", i)
		}
		if d.services == nil && d.title == "" {
			t.Errorf("step %s has no title", d.id)
		}
		if d.kind == "" || kinds[d.kind] {
			t.Errorf("row %d: kind %q missing or repeated", i, d.kind)
		}
		kinds[d.kind] = true
		if d.action == nil {
			t.Errorf("row %d (%s): no action", i, d.kind)
		}
		if d.report != ReportAsNothing && !d.perKey {
			t.Errorf("row %d (%s): only per-key steps are reported per key", i, d.kind)
		}
	}
}
