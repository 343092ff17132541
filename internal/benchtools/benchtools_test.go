package benchtools

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// hyperfineOne is the shape hyperfine 1.15 writes (trimmed to two commands).
const hyperfineOne = `{
  "results": [
    {
      "command": "keywizard",
      "mean": 0.2034, "stddev": 0.011, "median": 0.2011,
      "user": 0.0123, "system": 0.0081,
      "min": 0.19, "max": 0.23,
      "times": [0.19, 0.2011, 0.23],
      "exit_codes": [0, 0, 0]
    },
    {
      "command": "ykman",
      "mean": 0.61, "stddev": 0.02, "median": 0.6,
      "user": 0.1, "system": 0.015,
      "min": 0.58, "max": 0.66,
      "times": [0.58, 0.6, 0.66],
      "exit_codes": [0, 0, 0]
    }
  ]
}`

func TestParseHyperfine(t *testing.T) {
	cs, err := ParseHyperfine([]byte(hyperfineOne))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("got %d commands, want 2", len(cs))
	}
	k, ok := FindCommand(cs, "keywizard")
	if !ok {
		t.Fatal("keywizard not found")
	}
	if k.Median != 0.2011 || k.Mean != 0.2034 || k.Runs != 3 || k.Min != 0.19 || k.Max != 0.23 || k.Stddev != 0.011 {
		t.Errorf("keywizard = %+v", k)
	}
	if got := k.CPU(); got < 0.0203 || got > 0.0205 {
		t.Errorf("CPU = %v, want user+system 0.0204", got)
	}
	if _, ok := FindCommand(cs, "nothing"); ok {
		t.Error("found a command that is not there")
	}
}

func TestParseHyperfineErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
	}{
		{"not JSON", `{"results": [`},
		{"no results", `{"results": []}`},
		{"no user time", `{"results": [{"command": "a", "mean": 1, "median": 1, "system": 0}]}`},
		{"failed run", `{"results": [{"command": "a", "mean": 1, "median": 1, "user": 0, "system": 0, "exit_codes": [0, 1]}]}`},
		{"killed run", `{"results": [{"command": "a", "mean": 1, "median": 1, "user": 0, "system": 0, "exit_codes": [null]}]}`},
		{"negative", `{"results": [{"command": "a", "mean": -1, "median": 1, "user": 0, "system": 0}]}`},
	} {
		_, err := ParseHyperfine([]byte(tc.in))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", tc.name, err)
		}
	}
}

const goBench = `goos: linux
goarch: amd64
pkg: github.com/keywizard/keywizard/device/scan
cpu: AMD EPYC 7B13
BenchmarkKeysOne-2   	      20	  91234567 ns/op	        91.23 ms/op	         2.100 cpu-ms/op
BenchmarkKeysOne-2   	      20	  95000000 ns/op	        95.00 ms/op	         2.300 cpu-ms/op
BenchmarkKeysOne-2   	      20	  93000000 ns/op	        93.00 ms/op	         2.200 cpu-ms/op
BenchmarkMinimalClient/one-2         	      20	  80000000 ns/op	        80.00 ms/op	         1.000 cpu-ms/op
BenchmarkWatchIdle/baseline
    bench_test.go:12: some log line
BenchmarkWatchIdle/baseline-2 	      10	1000123456 ns/op	         0.3000 cpu-ms/idle-s
BenchmarkNoProcs 	 5	 10 ns/op	 3 B/op	 1 allocs/op
PASS
ok  	github.com/keywizard/keywizard/device/scan	60.123s
`

func TestParseGoBench(t *testing.T) {
	rs, err := ParseGoBench(strings.NewReader(goBench))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 6 {
		t.Fatalf("got %d results, want 6: %+v", len(rs), rs)
	}
	if r := rs[3]; r.Name != "BenchmarkMinimalClient/one" || r.Procs != 2 || r.N != 20 {
		t.Errorf("result 3 = %+v", r)
	}
	if v, ok := rs[4].Metric("cpu-ms/idle-s"); !ok || v != 0.3 {
		t.Errorf("idle metric = %v %v", v, ok)
	}
	if r := rs[5]; r.Name != "BenchmarkNoProcs" || r.Procs != 1 || len(r.Metrics) != 3 {
		t.Errorf("result without procs suffix = %+v", r)
	}
	if _, ok := rs[0].Metric("reports/s"); ok {
		t.Error("found a metric the line does not have")
	}
	s, ok := Summarize(rs, "BenchmarkKeysOne", "ms/op")
	if !ok || s.Median != 93 || s.Min != 91.23 || s.Max != 95 || s.Count != 3 {
		t.Errorf("Summarize = %+v %v", s, ok)
	}
}

func TestParseGoBenchErrors(t *testing.T) {
	for _, in := range []string{
		"BenchmarkX-2 20 12 ns/op 5",       // value without unit
		"BenchmarkX-2 20 abc ns/op",        // value not a number
		"BenchmarkX-2 0 12 ns/op",          // zero iterations
		"BenchmarkX-2 20 NaN ms/op",        // not finite
		"BenchmarkX-2 -3 12 ns/op",         // negative count
		"BenchmarkX-2 20 12 ns/op 1e999 x", // overflows to Inf
	} {
		if _, err := ParseGoBench(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestSummarize(t *testing.T) {
	rs := []Result{
		{Name: "B", Metrics: []Metric{{4, "ms/op"}}},
		{Name: "B", Metrics: []Metric{{1, "ms/op"}}},
		{Name: "C", Metrics: []Metric{{100, "ms/op"}}},
		{Name: "B", Metrics: []Metric{{2, "ms/op"}}},
		{Name: "B", Metrics: []Metric{{8, "ms/op"}}},
	}
	if s, _ := Summarize(rs, "B", "ms/op"); s.Median != 3 || s.Min != 1 || s.Max != 8 || s.Count != 4 {
		t.Errorf("even count: %+v", s)
	}
	if s, _ := Summarize(rs[:3], "B", "ms/op"); s.Median != 2.5 || s.Count != 2 {
		t.Errorf("two values: %+v", s)
	}
	if _, ok := Summarize(rs, "B", "cpu-ms/op"); ok {
		t.Error("summarised a unit no result has")
	}
	if _, ok := Summarize(rs, "D", "ms/op"); ok {
		t.Error("summarised a benchmark that is not there")
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		got, limit float64
		want       string
	}{
		{1, 2, "PASS"}, {2, 2, "PASS"}, {2.01, 2, "**MISS**"},
	} {
		c := Check{Got: tc.got, Limit: tc.limit}
		if c.Verdict() != tc.want || c.Pass() != (tc.want == "PASS") {
			t.Errorf("Check{%v <= %v} = %s, want %s", tc.got, tc.limit, c.Verdict(), tc.want)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# Benchmarks\n\nintro\n\n<!-- bench:keys -->\nold numbers\n<!-- /bench:keys -->\n\nexplanation after\n"
	got, err := Splice([]byte(doc), "keys", []byte("new numbers\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nintro\n\n<!-- bench:keys -->\nnew numbers\n<!-- /bench:keys -->\n\nexplanation after\n"
	if string(got) != want {
		t.Errorf("replace:\n%s\nwant\n%s", got, want)
	}
	again, err := Splice(got, "keys", []byte("new numbers"))
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("splicing the same content again changed the document: %q, %v", again, err)
	}

	got, err = Splice([]byte("# B\n\ntext\n\n\n"), "arrival", []byte("table"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# B\n\ntext\n\n<!-- bench:arrival -->\ntable\n<!-- /bench:arrival -->\n"; string(got) != want {
		t.Errorf("append:\n%q\nwant\n%q", got, want)
	}
	if got, _ := Splice(nil, "x", []byte("t")); string(got) != "<!-- bench:x -->\nt\n<!-- /bench:x -->\n" {
		t.Errorf("into an empty document: %q", got)
	}

	for _, bad := range []string{
		"<!-- /bench:keys -->\n<!-- bench:keys -->\n",
		"<!-- bench:keys -->\n<!-- bench:keys -->\n<!-- /bench:keys -->\n",
		"<!-- bench:keys -->\nno end\n",
	} {
		if _, err := Splice([]byte(bad), "keys", []byte("t")); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := Splice(nil, "two words", nil); err == nil {
		t.Error("accepted a section name with a space")
	}
}

func FuzzParseGoBench(f *testing.F) {
	f.Add([]byte(goBench))
	f.Add([]byte("BenchmarkX-2 20 12 ns/op"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseGoBench(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !strings.Contains(err.Error(), "reading") {
				t.Fatalf("error matches neither ErrMalformed nor a read error: %v", err)
			}
			return
		}
		for _, r := range rs {
			if r.N <= 0 || r.Procs <= 0 || !strings.HasPrefix(r.Name, "Benchmark") {
				t.Fatalf("bad result %+v", r)
			}
		}
	})
}

func FuzzParseHyperfine(f *testing.F) {
	f.Add([]byte(hyperfineOne))
	f.Add([]byte(`{"results":[{"command":"a","mean":1,"median":1,"user":0,"system":0,"exit_codes":[0]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseHyperfine(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		for _, c := range cs {
			if c.Mean < 0 || c.CPU() < 0 || c.Runs != len(c.Times) {
				t.Fatalf("bad command %+v", c)
			}
		}
	})
}

// FuzzSplice checks splicing keeps the text outside the markers and is
// idempotent.
func FuzzSplice(f *testing.F) {
	f.Add([]byte("# B\n\n<!-- bench:s -->\nold\n<!-- /bench:s -->\nafter\n"), []byte("new"))
	f.Add([]byte("no markers"), []byte("x"))
	f.Fuzz(func(t *testing.T, doc, content []byte) {
		if bytes.Contains(content, []byte("bench:s")) {
			return // content holding markers is not something we generate
		}
		out, err := Splice(doc, "s", content)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		b := bytes.Index(out, []byte(Begin("s")))
		e := bytes.Index(out, []byte(End("s")))
		if b < 0 || e < b {
			t.Fatalf("markers missing after splice: %q", out)
		}
		if got := out[b+len(Begin("s"))+1 : e]; !bytes.Equal(bytes.TrimRight(got, "\n"), bytes.TrimRight(content, "\n")) {
			t.Fatalf("section holds %q, want %q", got, content)
		}
		again, err := Splice(out, "s", content)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q then %q (%v)", out, again, err)
		}
		if i := bytes.Index(doc, []byte(Begin("s"))); i >= 0 && !bytes.HasPrefix(out, doc[:i]) {
			t.Fatalf("text before the section changed")
		}
	})
}
