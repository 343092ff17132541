package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Parameters []struct {
		Name, In string
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
			Example json.RawMessage `json:"example"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// decoders maps each request schema to the server's decoder for it.
var decoders = map[string]func([]byte) error{
	"Report":       func(b []byte) error { _, err := tracker.Decode[tracker.Report](bytes.NewReader(b)); return err },
	"CreatePerson": func(b []byte) error { _, err := tracker.Decode[tracker.CreatePerson](bytes.NewReader(b)); return err },
	"Exchange":     func(b []byte) error { _, err := tracker.Decode[tracker.Exchange](bytes.NewReader(b)); return err },
	"Reasoned":     func(b []byte) error { _, err := tracker.Decode[tracker.Reasoned](bytes.NewReader(b)); return err },
	"Erasure":      func(b []byte) error { _, err := tracker.Decode[tracker.Erasure](bytes.NewReader(b)); return err },
	"PersonUpdate": func(b []byte) error { _, err := tracker.Decode[tracker.PersonUpdate](bytes.NewReader(b)); return err },
	"Leave":        func(b []byte) error { _, err := tracker.Decode[tracker.Leave](bytes.NewReader(b)); return err },
	"KeyStatusChange": func(b []byte) error {
		_, err := tracker.Decode[tracker.KeyStatusChange](bytes.NewReader(b))
		return err
	},
	"LossReport": func(b []byte) error { _, err := tracker.Decode[tracker.LossReport](bytes.NewReader(b)); return err },
}

// TestOpenAPI keeps tracker/openapi.json true: every registered route is
// documented and every documented route is registered, path parameters
// match, and every JSON request example decodes and validates with the
// server's own decoder.
func TestOpenAPI(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(tracker.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	srv, err := server.New(server.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range srv.Routes() {
		registered[strings.ToLower(r.Method)+" "+r.Path] = true
	}
	documented := map[string]bool{}
	param := regexp.MustCompile(`\{([a-z]+)\}`)
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			key := method + " " + path
			documented[key] = true
			if !registered[key] {
				t.Errorf("openapi.json documents %s, which the server does not serve", key)
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			var inPath, declared []string
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				inPath = append(inPath, m[1])
			}
			for _, p := range op.Parameters {
				if p.In == "path" {
					declared = append(declared, p.Name)
				}
			}
			if !slices.Equal(inPath, declared) {
				t.Errorf("%s: path parameters %v, declared %v", key, inPath, declared)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses documented", key)
			}
			if op.RequestBody == nil {
				continue
			}
			for ctype, c := range op.RequestBody.Content {
				if ctype != "application/json" {
					continue
				}
				name := strings.TrimPrefix(c.Schema.Ref, "#/components/schemas/")
				dec, ok := decoders[name]
				if !ok {
					t.Errorf("%s: request schema %q has no decoder in this test", key, name)
					continue
				}
				if _, ok := doc.Components.Schemas[name]; !ok {
					t.Errorf("%s: schema %q not defined", key, name)
				}
				if len(c.Example) == 0 {
					t.Errorf("%s: no example request body", key)
					continue
				}
				if err := dec(c.Example); err != nil {
					t.Errorf("%s: example body does not validate: %v", key, err)
				}
				checkSchemaFields(t, key, doc.Components.Schemas[name], c.Example)
			}
		}
	}
	for key := range registered {
		if !documented[key] {
			t.Errorf("the server serves %s, which openapi.json does not document", key)
		}
	}
	// The served document is the embedded one.
	rec := httptestRecorder(srv, "GET", "/v1/openapi.json")
	if !bytes.Equal(rec, tracker.OpenAPI) {
		t.Error("GET /v1/openapi.json differs from tracker.OpenAPI")
	}
}

// checkSchemaFields checks that the example only uses properties the schema
// declares and has all it requires, so schema and Go types cannot drift.
func checkSchemaFields(t *testing.T, key string, schema, example json.RawMessage) {
	t.Helper()
	var s struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	var ex map[string]any
	if json.Unmarshal(schema, &s) != nil || json.Unmarshal(example, &ex) != nil {
		t.Errorf("%s: schema or example is not an object", key)
		return
	}
	for f := range ex {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("%s: example field %q not in schema", key, f)
		}
	}
	for _, f := range s.Required {
		if _, ok := ex[f]; !ok {
			t.Errorf("%s: example lacks required field %q", key, f)
		}
	}
}

// TestSchemasMatchGoTypes checks that each schema's properties are exactly
// the JSON fields of the Go type it documents.
func TestSchemasMatchGoTypes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(tracker.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"Person": tracker.Person{}, "CreatePerson": tracker.CreatePerson{}, "Exchange": tracker.Exchange{},
		"ExchangeResult": tracker.ExchangeResult{}, "Invite": tracker.Invite{}, "Reasoned": tracker.Reasoned{}, "Erasure": tracker.Erasure{},
		"KeyStatusChange": tracker.KeyStatusChange{}, "ReportItem": tracker.ReportItem{}, "Service": tracker.Service{}, "Attestation": tracker.Attestation{},
		"Report": tracker.Report{}, "ReportResult": tracker.ReportResult{}, "Key": tracker.Key{}, "Item": tracker.Item{},
		"AuditEntry": tracker.AuditEntry{}, "PersonExport": tracker.PersonExport{}, "Cell": tracker.Cell{}, "Row": tracker.Row{},
		"LostKey": tracker.LostKey{}, "TeamView": tracker.TeamView{}, "Export": server.Export{}, "Error": tracker.ErrorBody{},
		"ExportHeader": tracker.ExportHeader{}, "ExportActor": tracker.ExportActor{}, "ExportPolicy": tracker.ExportPolicy{},
		"ExportPerson": tracker.ExportPerson{}, "ExportEvent": tracker.ExportEvent{},
		"AuditChainExport": server.AuditChainExport{}, "AuditChainEntry": evidence.Entry{},
		// The roster.
		"PersonUpdate": tracker.PersonUpdate{}, "Change": tracker.Change{}, "Leave": tracker.Leave{}, "Leaver": tracker.Leaver{},
		"ImportChange": tracker.ImportChange{}, "ImportResult": tracker.ImportResult{},
		// Lost keys.
		"LossReport": tracker.LossReport{}, "KeyEvent": tracker.KeyEvent{}, "KeyRecord": tracker.KeyRecord{},
		"CompletionChange": tracker.CompletionChange{}, "PersonStatus": tracker.PersonStatus{}, "OwnedKeyEvent": tracker.OwnedKeyEvent{},
	}
	for name, v := range types {
		raw, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var s struct {
			Properties map[string]any `json:"properties"`
		}
		json.Unmarshal(raw, &s)
		var want []string
		for f := range s.Properties {
			want = append(want, f)
		}
		got := jsonFields(v)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; Go type %T has %v", name, want, v, got)
		}
	}
	if len(types) != len(doc.Components.Schemas) {
		t.Errorf("%d schemas documented, %d checked", len(doc.Components.Schemas), len(types))
	}
}

func jsonFields(v any) []string {
	rt := reflectType(v)
	var out []string
	for i := range rt.NumField() {
		tag := rt.Field(i).Tag.Get("json")
		if f := rt.Field(i); f.Anonymous && tag == "" {
			// An embedded struct's fields are the outer object's.
			out = append(out, jsonFields(reflectZero(f.Type))...)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			panic(fmt.Sprintf("%s.%s has no json name", rt.Name(), rt.Field(i).Name))
		}
		out = append(out, name)
	}
	return out
}

func httptestRecorder(srv *server.Server, method, path string) []byte {
	rec := newRecorder()
	req, _ := http.NewRequest(method, path, nil)
	srv.Handler().ServeHTTP(rec, req)
	return rec.Body.Bytes()
}

// TestErasureReasonsDocumented: the erasure reason codes in openapi.json
// are exactly the ones the server accepts.
func TestErasureReasonsDocumented(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(tracker.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			Reason struct {
				Enum []tracker.ErasureReason `json:"enum"`
			} `json:"reason"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Erasure"], &s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Properties.Reason.Enum, tracker.ErasureReasons) {
		t.Errorf("openapi.json erasure reasons %q, server accepts %q", s.Properties.Reason.Enum, tracker.ErasureReasons)
	}
}
