package client_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// The tracker's answer to each sent report is kept by idempotency key:
// the wizard says a key is genuine only from it.
func TestAnswerSaysWhatTheTrackerChecked(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		st, _ := testdb.Open(t, b)
		_, tok := person(t, st, "a@example.com", "")
		ca := attesttest.NewCA(t)
		srv, err := server.New(server.Config{Store: st, Logf: t.Logf, Verifier: ca.Verifier(),
			Now: func() time.Time { return time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		c, err := client.New(client.Config{BaseURL: hs.URL, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: tok}, AppVersion: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		attested := report(11, "google")
		d := ca.Device(t, 11, attesttest.Options{})
		attested.Attestation = &tracker.Attestation{Certificate: d.Attestation, Slot: d.Slot}
		plain := report(12, "google")
		plain.Role = tracker.RoleBackup
		wrong := report(13, "google")
		wrong.Role = tracker.RoleBackup
		other := ca.Device(t, 99, attesttest.Options{})
		wrong.Attestation = &tracker.Attestation{Certificate: other.Attestation, Slot: other.Slot}

		var keys []string
		for _, r := range []tracker.Report{attested, plain, wrong} {
			k, err := c.Enqueue(r)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.Answer(k); ok {
				t.Errorf("an answer before the report was sent")
			}
			keys = append(keys, k)
		}
		if _, err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if res, ok := c.Answer(keys[0]); !ok || !res.Genuine || !strings.Contains(res.GenuineDetail, "Test PIV Root CA") {
			t.Errorf("attested key: %+v %v", res, ok)
		}
		if res, ok := c.Answer(keys[1]); !ok || res.Genuine || res.GenuineDetail != "no attestation received" {
			t.Errorf("key without attestation: %+v %v", res, ok)
		}
		if res, ok := c.Answer(keys[2]); !ok || res.Genuine || !strings.Contains(res.GenuineDetail, "serial 99") {
			t.Errorf("someone else's attestation: %+v %v", res, ok)
		}
	})
}
