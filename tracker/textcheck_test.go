package tracker

import (
	"strings"
	"testing"
)

func TestMixedScript(t *testing.T) {
	for s, want := range map[string]bool{
		"Ann": false, "Ørsted": false, "Zoë": false, "Анна": false, "日本語のテキスト": false, "한국어": false, "O'Brien-2": false,
		"Ελένη": false, "exаmple": true, "Pаypal": true, "АDMIN": true, "Ann日本": true, "中文ㄅ": false,
	} {
		if got := MixedScript(s); got != want {
			t.Errorf("MixedScript(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestTextChecks: the two examples and their kin are refused,
// naming the field; names in one script per word, in any script, pass.
func TestTextChecks(t *testing.T) {
	refused := []struct {
		c     CreatePerson
		field string
		why   string
	}{
		{CreatePerson{Email: "eve@example.com", Name: "Eve \u202eNIMDA TI", StartDate: "2026-03-02"}, "name", "invisible or direction-changing"},
		{CreatePerson{Email: "ann@ex\u0430mple.com", Name: "Ann", StartDate: "2026-03-02"}, "email", "mix scripts"},
		{CreatePerson{Email: "\u0430nn@example.com", Name: "Ann", StartDate: "2026-03-02"}, "email", "mix scripts"},
		{CreatePerson{Email: "ann@example.com", Name: "Ann\u200bLee", StartDate: "2026-03-02"}, "name", "invisible"},
		{CreatePerson{Email: "ann@example.com", Name: "Ann\u2066Lee\u2069", StartDate: "2026-03-02"}, "name", "invisible"},
		{CreatePerson{Email: "ann@example.com", Name: "Ann", Team: "\u0405ecurity", StartDate: "2026-03-02"}, "team", "mix scripts"},
		{CreatePerson{Email: "ann@example.com", Name: "Ann\ufeff", StartDate: "2026-03-02"}, "name", "invisible"},
	}
	for _, c := range refused {
		err := c.c.Validate()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.why) {
			t.Errorf("%+v: %v, want a %s error about %q", c.c, err, c.field, c.why)
		}
	}
	for _, name := range []string{"Zoë Ångström-O'Brien", "Анна Петрова", "山田 太郎", "Ελένη Παπαδοπούλου", "José María", "Nguyễn Văn An"} {
		c := CreatePerson{Email: "x@example.com", Name: name, Team: "R&D 2", StartDate: "2026-03-02"}
		if err := c.Validate(); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	for _, r := range []Reasoned{{"per ticket 1234 — Анна's laptop"}, {"laptop stolen"}} {
		if err := r.Validate(); err != nil {
			t.Errorf("reason %q refused: %v", r.Reason, err)
		}
	}
	if err := (&Reasoned{Reason: "approved by \u202eTI"}).Validate(); err == nil {
		t.Error("a reason with a bidi override passed")
	}
	if err := (&Reasoned{Reason: "approved by Ad\u043cin"}).Validate(); err == nil {
		t.Error("a reason with a mixed-script word passed")
	}
}
