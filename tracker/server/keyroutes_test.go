package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// TestKeyRoutesRefuseBadSerialOrBody pins the answers of the three routes
// that take a key serial in the path and a JSON body (a person's loss
// report, IT's status change by serial and by person): a serial that is not
// one is refused before the body is read, and a body that does not decode
// is refused with the decoder's field, each a 400 with the same JSON body.
func TestKeyRoutesRefuseBadSerialOrBody(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	const badSerial = `{
  "error": "serial: must be a key serial number",
  "field": "serial"
}
`
	routes := []struct {
		who, path string // path with %s for the serial
	}{
		{"ann", "/v1/me/keys/%s/lost"},
		{"it", "/v1/keys/%s/status"},
		{"it", "/v1/people/" + e.id("ann") + "/keys/%s/status"},
	}
	for _, r := range routes {
		for _, c := range []struct {
			serial, body string
			want         string
		}{
			{"abc", `{}`, badSerial},
			{"0", `{}`, badSerial},
			{"4294967296", `{}`, badSerial},
			{"abc", `{`, badSerial}, // the serial is checked first
			{"6100", `{`, `{
  "error": "malformed JSON"
}
`},
			{"6100", `{"reason": 5}`, `{
  "error": "reason: must be a string",
  "field": "reason"
}
`},
			{"6100", `{"nonsense": true}`, `{
  "error": "nonsense: unknown field",
  "field": "nonsense"
}
`},
		} {
			path := fmt.Sprintf(r.path, c.serial)
			code, body := e.call(r.who, "POST", path, c.body)
			if code != http.StatusBadRequest || string(body) != c.want {
				t.Errorf("POST %s %s as %s: %d %q, want 400 %q", path, c.body, r.who, code, body, c.want)
			}
		}
	}
}
