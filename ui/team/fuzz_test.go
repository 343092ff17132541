package team

import (
	"encoding/json"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/tracker"
)

// FuzzTeamView renders whatever GET /v1/team might decode to (the client
// decodes it with encoding/json, as here): missing maps, unknown evidence
// levels and services, negative days, rows without keys. Rendering must
// not panic, the table must have one row per person and a column per
// service, every cell must be filled from its own row, and the details
// must name both keys.
func FuzzTeamView(f *testing.F) {
	seed, err := json.Marshal(fiveTeam())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"manager":{"id":"m"},"services":["vpn"],"rows":[{"person":{"name":"A"},"everyday":{"serial":1,"services":{"vpn":"later"}},"days_since_start":-3}]}`))
	f.Add([]byte(`{"rows":[{}],"lost_keys":[{}]}`))
	a := test.NewApp()
	defer a.Quit()
	w := a.NewWindow("fuzz")
	f.Fuzz(func(t *testing.T, b []byte) {
		var tv tracker.TeamView
		if json.Unmarshal(b, &tv) != nil || len(tv.Rows) > 40 || len(tv.Services) > 40 || len(tv.LostKeys) > 40 {
			return
		}
		v := New(w, &fake{}, Options{})
		v.show(tv, nil)
		rows, cols := v.Table.Length()
		if rows != len(tv.Rows) || cols != len(tv.Services)+4 {
			t.Fatalf("table %dx%d for %d rows, %d services", rows, cols, len(tv.Rows), len(tv.Services))
		}
		if (rows == 0) != v.Message.Visible() {
			t.Errorf("%d rows, message shown %v", rows, v.Message.Visible())
		}
		if len(v.Lost.Objects) != len(tv.LostKeys) {
			t.Errorf("%d lost keys listed of %d", len(v.Lost.Objects), len(tv.LostKeys))
		}
		for r := range rows {
			for c := range cols {
				o := v.newCell()
				v.updateCell(widget.TableCellID{Row: r, Col: c}, o)
			}
			if d := details(tv, tv.Rows[r]); !strings.Contains(d, "Everyday key") || !strings.Contains(d, "Backup key") {
				t.Errorf("details without both keys: %q", d)
			}
			o := v.newCell()
			v.updateCell(widget.TableCellID{Row: r, Col: 0}, o)
			if got := v.cells[o.(*fyne.Container)].name.Text; got != tv.Rows[r].Person.Name {
				t.Errorf("row %d shows %q, want %q", r, got, tv.Rows[r].Person.Name)
			}
		}
		for c := range cols {
			v.updateHeader(widget.TableCellID{Row: -1, Col: c}, v.newHeader())
		}
		// Out-of-range ids (a table racing a refresh) are ignored.
		v.updateCell(widget.TableCellID{Row: rows, Col: 0}, v.newCell())
		v.updateHeader(widget.TableCellID{Row: -1, Col: cols}, v.newHeader())
	})
}
