package piv

import (
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func TestTryCredentials(t *testing.T) {
	wrong := func(n int) error { return &device.PINError{Which: device.PIVPIN, Retries: n} }
	for _, tc := range []struct {
		name    string
		cands   []string
		results map[string]error
		want    string
		tried   []string
		err     error
	}{
		{"first", []string{"a", "b"}, map[string]error{}, "a", []string{"a"}, nil},
		{"second", []string{"a", "b"}, map[string]error{"a": wrong(2)}, "b", []string{"a", "b"}, nil},
		{"never the last try", []string{"a", "b"}, map[string]error{"a": wrong(1)}, "", []string{"a"}, device.ErrWrongPIN},
		{"blocked", []string{"a", "b"}, map[string]error{"a": wrong(0)}, "", []string{"a"}, device.ErrBlocked},
		{"both wrong", []string{"a", "b"}, map[string]error{"a": wrong(2), "b": wrong(1)}, "", []string{"a", "b"}, device.ErrWrongPIN},
		{"other error stops", []string{"a", "b"}, map[string]error{"a": device.ErrRemoved}, "", []string{"a"}, device.ErrRemoved},
		{"none", nil, nil, "", nil, device.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []string
			got, err := tryCredentials(tc.cands, func(c string) error {
				tried = append(tried, c)
				return tc.results[c]
			})
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || len(tried) != len(tc.tried) {
				t.Errorf("got %q, %v after %v", got, err, tried)
			}
		})
	}
}

func TestCredentialCandidates(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		def          *bool
		current, new string
		want         []string
	}{
		{&yes, "", "246810", []string{DefaultPIN}},
		{&yes, "111111", "246810", []string{DefaultPIN}},
		{&no, "", "246810", []string{"246810"}},
		{&no, "111111", "246810", []string{"111111", "246810"}},
		{&no, "246810", "246810", []string{"246810"}},
		{nil, "", "246810", []string{DefaultPIN, "246810"}},
		{nil, "111111", "246810", []string{"111111", "246810"}},
	} {
		got := credentialCandidates(tc.def, tc.current, tc.new, DefaultPIN)
		if len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("credentialCandidates(%v, %q, %q) = %q, want %q", tc.def, tc.current, tc.new, got, tc.want)
		}
	}
}
