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
// the field it names, and names one whenever the body is a well-formed JSON
// object (then the problem is in its contents, and a 400 must say where);
// and what it accepts validates and survives a JSON round trip unchanged.
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
		if fe.Field == "" && isObject(data) {
			t.Fatalf("%q: error %q names no field", data, err)
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

// isObject reports whether data is one well-formed JSON object within the
// size limit: any error decoding it is about a field.
func isObject(data []byte) bool {
	d := bytes.TrimSpace(data)
	return len(data) <= tracker.MaxBodyBytes && len(d) > 0 && d[0] == '{' && json.Valid(d)
}

// normalise compares through JSON, so equal instants in different zones
// (which JSON cannot tell apart after a round trip) compare equal.
func normalise(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzReport(f *testing.F) {
	f.Add([]byte(`{"idempotency_key":"abcdefgh","serial":1,"model":"YubiKey 5C Nano","role":"everyday","app_version":"1.0","items":[{"service":"google","evidence":"verified-on-key","at":"2026-03-02T10:00:00Z"}]}`))
	f.Add([]byte(`{"idempotency_key":"abcdefgh","serial":1,"model":"m","role":"everyday","app_version":"1.0","items":[{"service":"google","evidence":"self-attested","at":"soon","x":1}]}`))
	f.Add([]byte(`{"idempotency_key":"abcdefgh","serial":1,"model":"m","role":"everyday","app_version":"1.0","items":[],"attestation":{"certificate":"!!","slot":"AAAA"}}`))
	f.Add([]byte(`{"Serial":1,"ITEMS":[{"\u00ff":null}],"attestation":null}`))
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

func FuzzLossReport(f *testing.F) {
	f.Add([]byte(`{"serial":31000006,"role":"backup","reason":"left it on the train","at":"2026-03-10T08:30:00Z"}`))
	f.Add([]byte(`{"serial":0,"role":"spare","reason":"","at":"yesterday"}`))
	f.Add([]byte(`{"serial":4294967296}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.LossReport](t, data) })
}

func FuzzKeyStatusChange(f *testing.F) {
	f.Add([]byte(`{"status":"lost","reason":"left in a taxi"}`))
	f.Add([]byte(`{"status":"retired","reason":"wiped","erased":["fido2","piv","oath"]}`))
	f.Add([]byte(`{"status":"reported-lost","reason":"x","erased":["FIDO2"]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.KeyStatusChange](t, data) })
}

func FuzzReasoned(f *testing.F) {
	f.Add([]byte(`{"reason":"erasure request"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.Reasoned](t, data) })
}

func FuzzErasure(f *testing.F) {
	f.Add([]byte(`{"reason":"person-request"}`))
	f.Add([]byte(`{"reason":"Ann asked"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[tracker.Erasure](t, data) })
}
