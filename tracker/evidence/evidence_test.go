package evidence_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker/evidence"
)

const csvBody = "# generated_by: IT Desk <it@example.com>\n# scope: everyone\nemail,name\nann@example.com,Ann Lee\n"

func signed(t *testing.T, s *evidence.Signer, kind evidence.Kind) []byte {
	t.Helper()
	if kind == evidence.CSV {
		return s.SignCSV([]byte(csvBody), "keywizard export csv")
	}
	obj, _ := json.MarshalIndent(map[string]any{"header": map[string]string{"scope": "everyone"}, "people": []string{"ann@example.com"}}, "", "  ")
	out, err := s.SignJSON(obj, "keywizard export json")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignedExportsVerifyAndStayReadable(t *testing.T) {
	s, err := evidence.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []evidence.Kind{evidence.CSV, evidence.JSON} {
		file := signed(t, s, kind)
		v, err := evidence.Verify(s.PublicKey(), file)
		if err != nil {
			t.Fatalf("%s: good file refused: %v\n%s", kind, err, file)
		}
		if v.Kind != kind || v.Trusted != "keywizard export "+string(kind) {
			t.Errorf("%s: verified as %+v", kind, v)
		}
		switch kind {
		case evidence.JSON:
			var m map[string]any
			if err := json.Unmarshal(file, &m); err != nil {
				t.Errorf("signed JSON is not JSON: %v", err)
			} else if m["signature"] == "" || m["header"] == nil {
				t.Errorf("signed JSON lost its fields: %v", m)
			}
		case evidence.CSV:
			r := csv.NewReader(strings.NewReader(string(file)))
			r.Comment = '#'
			rows, err := r.ReadAll()
			if err != nil || len(rows) != 2 {
				t.Errorf("signed CSV read with '#' comments: %v %v", rows, err)
			}
		}
	}
}

func TestEveryChangedByteIsRefused(t *testing.T) {
	s, _ := evidence.NewSigner()
	for _, kind := range []evidence.Kind{evidence.CSV, evidence.JSON} {
		file := signed(t, s, kind)
		for i := range file {
			for _, delta := range []byte{1, 0x20, 0x80} {
				bad := append([]byte(nil), file...)
				bad[i] ^= delta
				if _, err := evidence.Verify(s.PublicKey(), bad); err == nil {
					t.Fatalf("%s: byte %d xor %#x accepted", kind, i, delta)
				} else if !errors.Is(err, evidence.ErrBadSignature) && !errors.Is(err, evidence.ErrMalformed) {
					t.Fatalf("%s: untyped error %v", kind, err)
				}
			}
			cut := append(append([]byte(nil), file[:i]...), file[i+1:]...)
			if _, err := evidence.Verify(s.PublicKey(), cut); err == nil {
				t.Fatalf("%s: byte %d removed, accepted", kind, i)
			}
		}
		if _, err := evidence.Verify(s.PublicKey(), append(file, '\n')); err == nil {
			t.Fatalf("%s: trailing byte accepted", kind)
		}
		other, _ := evidence.NewSigner()
		if _, err := evidence.Verify(other.PublicKey(), file); !errors.Is(err, evidence.ErrBadSignature) {
			t.Fatalf("%s: other key: %v", kind, err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tracker-signing.key")
	a, err := evidence.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.PublicKey().Equal(b.PublicKey()) {
		t.Fatal("key not kept")
	}
	pub, err := evidence.ParsePublicKey([]byte(a.PublicKeyText()))
	if err != nil || !pub.Equal(a.PublicKey()) {
		t.Fatalf("public key text does not round-trip: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o", fi.Mode().Perm())
	}
	os.Chmod(path, 0o644)
	if _, err := evidence.LoadOrCreateKey(path); !errors.Is(err, evidence.ErrKeyExposed) {
		t.Errorf("readable key accepted: %v", err)
	}
}

func chain(n int) []evidence.Entry {
	var (
		out  []evidence.Entry
		prev evidence.Hash
	)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := evidence.Entry{At: at.Add(time.Duration(i) * time.Minute), Actor: "p_it", Action: "key.status", Subject: "p_ann", Reason: "lost on the train"}
		if i == 2 {
			e.Subject = "p_bob"
		}
		evidence.Seal(&e, int64(i), prev)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(es []evidence.Entry, anchors ...evidence.Head) (evidence.ChainSummary, error) {
	v := evidence.Verifier{Anchors: anchors}
	for _, e := range es {
		if err := v.Add(e); err != nil {
			return v.Finish()
		}
	}
	return v.Finish()
}

func TestChainDetectsTampering(t *testing.T) {
	good := chain(5)
	sum, err := verify(good)
	if err != nil || sum.Entries != 5 || sum.Head.Hash != good[4].Hash {
		t.Fatalf("good chain: %+v %v", sum, err)
	}
	head := sum.Head
	if h, err := evidence.ParseHead(head.String()); err != nil || h != head {
		t.Fatalf("head round trip: %v %v", h, err)
	}
	cases := map[string]func([]evidence.Entry) []evidence.Entry{
		"edited reason": func(es []evidence.Entry) []evidence.Entry { es[2].Reason = "found"; return es },
		"edited actor":  func(es []evidence.Entry) []evidence.Entry { es[2].Actor = "p_eve"; return es },
		"edited time":   func(es []evidence.Entry) []evidence.Entry { es[2].At = es[2].At.Add(time.Second); return es },
		"removed":       func(es []evidence.Entry) []evidence.Entry { return append(es[:2], es[3:]...) },
		"reordered":     func(es []evidence.Entry) []evidence.Entry { es[1], es[2] = es[2], es[1]; return es },
		"renumbered": func(es []evidence.Entry) []evidence.Entry {
			es[1].Seq, es[2].Seq = es[2].Seq, es[1].Seq
			es[1], es[2] = es[2], es[1]
			return es
		},
		"redacted alone": func(es []evidence.Entry) []evidence.Entry { es[2].Reason, es[2].Salt = "", nil; return es },
		"tail removed (anchor)": func(es []evidence.Entry) []evidence.Entry {
			return es[:4]
		},
	}
	for name, mutate := range cases {
		es := mutate(append([]evidence.Entry(nil), good...))
		_, err := verify(es, head)
		var ce *evidence.ChainError
		if !errors.As(err, &ce) || !errors.Is(err, evidence.ErrChainBroken) {
			t.Errorf("%s: not detected: %v", name, err)
		}
	}
	// A redaction followed by the subject's erasure is what erasure does:
	// it verifies, and is counted.
	es := append([]evidence.Entry(nil), good...)
	for i := range es {
		if es[i].Subject == "p_ann" {
			es[i].Reason, es[i].Salt = "", nil
		}
	}
	// An entry about nobody else waits for its actor's erasure.
	refused := evidence.Entry{At: es[4].At, Actor: "p_ann", Action: "request.refused", Detail: "403 GET /v1/people from 192.0.2.7"}
	evidence.Seal(&refused, 6, es[4].Hash)
	refused.Detail, refused.Salt = "", nil
	es = append(es, refused)
	if _, err := verify(es); !errors.Is(err, evidence.ErrChainBroken) {
		t.Fatalf("redactions with no erasure after them: %v", err)
	}
	erase := evidence.Entry{At: es[5].At.Add(time.Minute), Actor: "p_it", Action: evidence.EraseAction, Subject: "p_ann", Reason: "left-organisation"}
	evidence.Seal(&erase, 7, es[5].Hash)
	sum, err = verify(append(es, erase), head)
	if err != nil || sum.Redacted != 5 {
		t.Fatalf("erasure's redaction: %+v %v", sum, err)
	}
}
