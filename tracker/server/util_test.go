package server_test

import (
	"context"
	"encoding/json"

	"github.com/keywizard/keywizard/tracker/server"
	"net/http/httptest"
	"reflect"
)

func reflectType(v any) reflect.Type { return reflect.TypeOf(v) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func serverAdminToken(e *env, id string) (string, error) {
	return server.AdminToken(context.Background(), e.st, id, "test", 0, start)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func reflectZero(t reflect.Type) any { return reflect.New(t).Elem().Interface() }
