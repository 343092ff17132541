package layout

import (
	"bytes"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsideCitation matches what a comment may not cite: the research notes
// that live outside the repository under their bare names (the repository's
// copies are docs/yubikey-protocol.md and docs/services.md), and numbered
// issues of the project's tracker, which a reader of the code cannot open.
// An upstream issue keeps its repository and '#': "ykman issue #354".
var (
	noteName   = regexp.MustCompile(`(services|yubikey-protocol|style)\.md`)
	issueCited = regexp.MustCompile(`\b[Ii]ssues? [0-9]+`)
)

// outsideCitation returns what text cites outside the repository, or "".
// A note's name counts as inside only as docs/<name> (not
// ../shared/reference/<name>, nor a bare name).
func outsideCitation(text string) string {
	for _, m := range noteName.FindAllStringIndex(text, -1) {
		before, ok := strings.CutSuffix(text[:m[0]], "docs/")
		if !ok || before != "" && strings.ContainsAny(before[len(before)-1:], "/.-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") {
			return text[m[0]:m[1]]
		}
	}
	return issueCited.FindString(text)
}

// TestCommentsCiteTheRepository fails on any comment or string literal in a
// Go file, and any comment in the Makefile or a script, that cites a file
// outside the repository or an issue number: the reason a comment (or an
// error message) points to must be readable from a checkout.
func TestCommentsCiteTheRepository(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	checked := 0
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path := filepath.Join("../..", f)
		src, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet staged
			}
			t.Fatal(err)
		}
		var comments []comment
		switch {
		case f == "internal/layout/comments_test.go":
			comments = goComments(f, src, false) // its test cases are the citations it rejects
		case strings.HasSuffix(f, ".go"):
			comments = goComments(f, src, true)
		case f == "Makefile" || strings.HasSuffix(f, ".sh"):
			comments = hashComments(src)
		default:
			continue
		}
		checked++
		for _, c := range comments {
			if m := outsideCitation(c.text); m != "" {
				t.Errorf("%s:%d: comment or string cites %q; cite docs/… or the upstream file, or say the reason", f, c.line, m)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d files; the test is not looking at the repository", checked)
	}
}

type comment struct {
	line int
	text string
}

// goComments returns the comments of a Go file, and its string literals if
// strs, one entry per line.
func goComments(name string, src []byte, strs bool) []comment {
	fset := token.NewFileSet()
	file := fset.AddFile(name, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	var out []comment
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok != token.COMMENT && (!strs || tok != token.STRING) {
			continue
		}
		line := fset.Position(pos).Line
		for i, l := range strings.Split(lit, "\n") {
			out = append(out, comment{line + i, l})
		}
	}
}

// hashComments returns the '#' comments of a Makefile or shell script (from
// the '#' to the end of the line; a '#' inside quotes may be taken for one,
// which errs on the side of checking).
func hashComments(src []byte) []comment {
	var out []comment
	for i, l := range bytes.Split(src, []byte("\n")) {
		if j := bytes.IndexByte(l, '#'); j >= 0 {
			out = append(out, comment{i + 1, string(l[j:])})
		}
	}
	return out
}

func TestOutsideCitation(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"// see yubikey-protocol.md §1.3", true},
		{"// see docs/yubikey-protocol.md §1.3", false},
		{"// (services.md §6)", true},
		{"// docs/services.md §6", false},
		{"// style.md §2.6", true},
		{"// the 2 MB of issue 3's target", true},
		{"// Issues 2 and 3", true},
		{"// ykman issue #354", false},
		{"// an issue with the reader", false},
		{"// ../shared/reference/yubikey-protocol.md §1.4", true},
		{"// see mydocs/services.md", true},
		{"// see docs/design.md §2", false},
	} {
		if got := outsideCitation(c.text) != ""; got != c.want {
			t.Errorf("%q: cites outside = %v, want %v", c.text, got, c.want)
		}
	}
}
