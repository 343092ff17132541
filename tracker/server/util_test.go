package server_test

import (
	"net/http/httptest"
	"reflect"
)

func reflectType(v any) reflect.Type { return reflect.TypeOf(v) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
