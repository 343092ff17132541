package tracker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
)

// fuzzDecode checks the properties every request decoder must have: it
// never panics; it fails only with a *FieldError whose message starts with
// the field it names; and what it accepts validates and survives a JSON
// round trip unchanged.
func fuzzDecode[T any, P interface {
	*T
	Validate() error
}](t *testing.T, data []byte) {
	v, err := tracker.Decode[T, P](bytes.NewReader(data))
	if err != nil {
		var fe *tracker.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error is %T, not *FieldError: %v", err, err)
		}
		if fe.Field != "" && !strings.HasPrefix(err.Error(), fe.Field+": ") {
			t.Fatalf("message %q does not name field %q", err, fe.Field)
		}
		if len(fe.Field) > 80 {
			t.Fatalf("field name of %d bytes echoed back", len(fe.Field))
		}
		return
	}
	if err := P(&v).Validate(); err != nil {
		t.Fatalf("accepted value does not validate: %v", err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	w, err := tracker.Decode[T, P](bytes.NewReader(again))
	if err != nil {
		t.Fatalf("re-encoded value %s rejected: %v", again, err)
	}
	if !reflect.DeepEqual(normalise(v), normalise(w)) {
		t.Fatalf("round trip changed the value:\n%#v\n%#v", v, w)
	}
}

// normalise compares through JSON, so equal instants in different zones
// (which JSON cannot tell apart after a round trip) compare equal.
func normalise(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzReport(f *testing.F) {
	f.Add([]byte(`{"idempotency_key":"abcdefgh","serial":1,"model":"YubiKey 5C Nano","role":"everyday","app_version":"1.0","items":[{"service":"google","evidence":"verified-on-key","at":"2026-03-02T10:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.Report](t, data) })
}

func FuzzCreatePerson(f *testing.F) {
	f.Add([]byte(`{"email":"ann@example.com","name":"Ann","team":"Eng","manager_email":"boss@example.com","start_date":"2026-03-02"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.CreatePerson](t, data) })
}

func FuzzExchange(f *testing.F) {
	f.Add([]byte(`{"invite_code":"kwi_0123456789abcdef_secret","device":"mac"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.Exchange](t, data) })
}

func FuzzKeyStatusChange(f *testing.F) {
	f.Add([]byte(`{"status":"lost","reason":"left in a taxi"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.KeyStatusChange](t, data) })
}

func FuzzReasoned(f *testing.F) {
	f.Add([]byte(`{"reason":"erasure request"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.Reasoned](t, data) })
}
