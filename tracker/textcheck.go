package tracker

import (
	"strings"
	"unicode"

	"golang.org/x/text/secure/precis"
)

// Spoofing checks on people's names, teams, e-mail addresses and reasons,
// after Unicode Technical Standard #39 (Unicode Security Mechanisms) and
// RFC 8264 (PRECIS), as written down in docs/tracker-input.md. Text that
// reads differently from what is stored would let someone pass for IT in
// the dashboard, the exports and the webhook ("Eve \u202eNIMDA TI" shows as
// "Eve IT ADMIN"), or sit a look-alike address beside a real one.
//
// Two libraries do the work, not tables of our own:
//   - golang.org/x/text/secure/precis, the Go team's RFC 8264
//     implementation: its FreeformClass disallows default-ignorable code
//     points (zero-width spaces and joiners, the bidirectional embeddings,
//     overrides and isolates U+202A-U+202E and U+2066-U+2069, U+FEFF) and
//     controls, and applies RFC 5892's context rules to ZWJ/ZWNJ.
//   - the standard library's unicode script tables (kept current with each
//     Go release) for UTS #39 §5.1 mixed-script detection, with the
//     augmented script sets of that section (Han with Hiragana and Katakana,
//     Hangul or Bopomofo is one writing system, not a mix).

// textProblem returns why s may not be stored, or "". mixed says whether
// each word must be in one script (names, teams, reasons); e-mail
// addresses are checked per label by emailProblem.
func textProblem(s string, mixed bool) string {
	if _, err := precis.OpaqueString.String(s); err != nil {
		return "must not contain invisible or direction-changing characters (zero-width characters or bidirectional controls)"
	}
	if !mixed {
		return ""
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) }) {
		if MixedScript(w) {
			return "must not mix scripts within a word (look-alike letters, such as a Cyrillic а in a Latin name)"
		}
	}
	return ""
}

// emailProblem applies textProblem to an address, and mixed-script
// detection to its local part and to each label of its domain separately
// (a label is where a look-alike hides: exаmple.com).
func emailProblem(s string) string {
	if p := textProblem(s, false); p != "" {
		return p
	}
	local, domain, _ := strings.Cut(s, "@")
	for _, part := range append([]string{local}, strings.Split(domain, ".")...) {
		if MixedScript(part) {
			return "must not mix scripts (look-alike letters, such as a Cyrillic а in a Latin address)"
		}
	}
	return ""
}

// Augmented script sets of UTS #39 §5.1: a Han character belongs to
// Japanese, Korean and Han-with-Bopomofo writing as well as to Han, so
// 日本語のテキスト is one script.
const (
	augJpan = "Jpan"
	augKore = "Kore"
	augHanb = "Hanb"
)

// scriptsOf returns the resolved script set of r: nil for Common and
// Inherited characters, which UTS #39 §5.1 treats as belonging to every
// script (digits, punctuation, combining marks).
func scriptsOf(r rune) []string {
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return nil
	}
	switch {
	case unicode.Is(unicode.Han, r):
		return []string{"Han", augJpan, augKore, augHanb}
	case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		return []string{augJpan}
	case unicode.Is(unicode.Hangul, r):
		return []string{augKore}
	case unicode.Is(unicode.Bopomofo, r):
		return []string{augHanb}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return []string{name}
		}
	}
	return nil // unassigned: no script to hold against the others
}

// MixedScript reports whether s is mixed-script in the sense of UTS #39
// §5.1: the intersection of its characters' resolved script sets is empty.
// "Ann", "Ørsted", "日本語のテキスト" and "Анна" are single-script;
// "exаmple" with a Cyrillic а is not.
func MixedScript(s string) bool {
	var set []string
	for _, r := range s {
		if r < 0x80 {
			if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
				set = intersect(set, []string{"Latin"})
				if len(set) == 0 {
					return true
				}
			}
			continue
		}
		sc := scriptsOf(r)
		if sc == nil {
			continue
		}
		set = intersect(set, sc)
		if len(set) == 0 {
			return true
		}
	}
	return false
}

// intersect returns a ∩ b, where a nil a means "every script" (nothing
// seen yet).
func intersect(a, b []string) []string {
	if a == nil {
		return b
	}
	out := []string{}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
