// Package benchtools turns what `make bench` measures into the tables of
// BENCHMARKS.md: it decodes hyperfine's JSON export and `go test -bench`
// output, summarises repeated runs, checks numbers against the issues'
// targets (a miss is reported as MISS, never hidden) and replaces the
// generated parts of BENCHMARKS.md between `<!-- bench:NAME -->` and
// `<!-- /bench:NAME -->` markers, so the hand-written explanation around
// them survives a re-run. scripts/bench.sh drives it through the
// benchreport command.
//
// It is pure Go and never runs anything itself: the measuring is done by
// scripts/bench.sh (hyperfine, go test) and by the tools next to it
// (pcscfloor, the minimal PC/SC client that is the floor for
// `keywizard keys`).
package benchtools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformed is matched by errors for input that does not decode.
var ErrMalformed = errors.New("malformed benchmark output")

// Command is one command of a hyperfine run (its --export-json "results").
// Times are in seconds, as hyperfine writes them; User and System are the
// mean CPU time of the command's process tree per run.
type Command struct {
	Name                 string
	Mean, Stddev, Median float64
	Min, Max             float64
	User, System         float64
	Runs                 int
	ExitCodes            []int
	Times                []float64
}

// CPU is the mean user plus system time per run, in seconds.
func (c Command) CPU() float64 { return c.User + c.System }

// hyperfineJSON is the subset of hyperfine's --export-json we read
// (hyperfine 1.15: results[].command, mean, stddev, median, user, system,
// min, max, times, exit_codes).
type hyperfineJSON struct {
	Results []struct {
		Command   string    `json:"command"`
		Mean      *float64  `json:"mean"`
		Stddev    *float64  `json:"stddev"`
		Median    *float64  `json:"median"`
		User      *float64  `json:"user"`
		System    *float64  `json:"system"`
		Min       *float64  `json:"min"`
		Max       *float64  `json:"max"`
		Times     []float64 `json:"times"`
		ExitCodes []*int    `json:"exit_codes"`
	} `json:"results"`
}

// ParseHyperfine decodes a hyperfine --export-json file. Every result must
// carry mean, median, user and system times; a command that failed in any
// run (non-zero exit code) is an error, since its timings would not be of
// the work meant.
func ParseHyperfine(b []byte) ([]Command, error) {
	var h hyperfineJSON
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("decoding hyperfine JSON: %w: %w", ErrMalformed, err)
	}
	if len(h.Results) == 0 {
		return nil, fmt.Errorf("hyperfine JSON has no results: %w", ErrMalformed)
	}
	var out []Command
	for i, r := range h.Results {
		if r.Mean == nil || r.Median == nil || r.User == nil || r.System == nil {
			return nil, fmt.Errorf("hyperfine result %d (%q) lacks mean, median, user or system time: %w", i, r.Command, ErrMalformed)
		}
		c := Command{Name: r.Command, Mean: *r.Mean, Median: *r.Median, User: *r.User, System: *r.System,
			Times: r.Times, Runs: len(r.Times)}
		for _, p := range []struct {
			dst *float64
			src *float64
		}{{&c.Stddev, r.Stddev}, {&c.Min, r.Min}, {&c.Max, r.Max}} {
			if p.src != nil {
				*p.dst = *p.src
			}
		}
		for _, v := range []float64{c.Mean, c.Median, c.User, c.System, c.Stddev, c.Min, c.Max} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("hyperfine result %q has a negative or non-finite time: %w", r.Command, ErrMalformed)
			}
		}
		for _, e := range r.ExitCodes {
			if e == nil {
				return nil, fmt.Errorf("%q was killed by a signal in a run; its timings are not usable: %w", r.Command, ErrMalformed)
			}
			if *e != 0 {
				return nil, fmt.Errorf("%q exited with status %d in a run; its timings are not usable: %w", r.Command, *e, ErrMalformed)
			}
			c.ExitCodes = append(c.ExitCodes, *e)
		}
		out = append(out, c)
	}
	return out, nil
}

// FindCommand returns the command named name (hyperfine's -n name, or the
// command line when no name was given).
func FindCommand(cs []Command, name string) (Command, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Metric is one value/unit pair of a benchmark result line ("85.3 ms/op").
type Metric struct {
	Value float64
	Unit  string
}

// Result is one line of `go test -bench` output.
type Result struct {
	// Name is the benchmark's name without the "-GOMAXPROCS" suffix
	// ("BenchmarkMinimalClient/one").
	Name string
	// Procs is that suffix (1 when absent).
	Procs int
	// N is the iteration count.
	N       int
	Metrics []Metric
}

// Metric returns the value of unit, if the line has it.
func (r Result) Metric(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// ParseGoBench reads `go test -bench` output and returns its result lines
// in order (a -count run gives several lines per benchmark). Other lines
// (goos, pkg, PASS, ok, log output) are skipped. A line that starts like a
// result ("BenchmarkX-2<TAB>20<TAB>...") but does not decode is an error.
func ParseGoBench(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			// "BenchmarkX" alone or followed by log text (a
			// benchmark that printed before its result): not a
			// result line.
			continue
		}
		if n <= 0 || len(f)%2 != 0 {
			return nil, fmt.Errorf("line %d: %q is not a benchmark result: %w", line, sc.Text(), ErrMalformed)
		}
		res := Result{Name: f[0], Procs: 1, N: n}
		if i := strings.LastIndexByte(f[0], '-'); i > 0 {
			if p, err := strconv.Atoi(f[0][i+1:]); err == nil && p > 0 {
				res.Name, res.Procs = f[0][:i], p
			}
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d: value %q of %s: %w", line, f[i], res.Name, ErrMalformed)
			}
			res.Metrics = append(res.Metrics, Metric{Value: v, Unit: f[i+1]})
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return out, nil
}

// Stats summarises one metric of a benchmark over its -count runs.
type Stats struct {
	Median, Min, Max float64
	Count            int
}

// Summarize returns the median, minimum and maximum of unit over every
// result named name. ok is false when no result has it.
func Summarize(rs []Result, name, unit string) (s Stats, ok bool) {
	var vs []float64
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		if v, ok := r.Metric(unit); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return Stats{}, false
	}
	slices.Sort(vs)
	s = Stats{Min: vs[0], Max: vs[len(vs)-1], Count: len(vs)}
	if m := len(vs) / 2; len(vs)%2 == 1 {
		s.Median = vs[m]
	} else {
		s.Median = (vs[m-1] + vs[m]) / 2
	}
	return s, true
}

// Check is one target: Got must be at most Limit (both in Unit).
type Check struct {
	What       string
	Got, Limit float64
	Unit       string
	// Rule says how Limit was derived ("0.1 × ykman's 112 ms").
	Rule string
}

// Pass reports whether the target is met.
func (c Check) Pass() bool { return c.Got <= c.Limit }

// Verdict is "PASS" or "**MISS**".
func (c Check) Verdict() string {
	if c.Pass() {
		return "PASS"
	}
	return "**MISS**"
}

// Begin and End are the markers around a generated section.
func Begin(name string) string { return "<!-- bench:" + name + " -->" }

// End is the closing marker of section name.
func End(name string) string { return "<!-- /bench:" + name + " -->" }

// Splice replaces what lies between section name's markers in doc with
// content. When doc has no such markers the section is appended at the end.
// Markers out of order or repeated are an error rather than a guess: the
// hand-written text around them must not be lost.
func Splice(doc []byte, name string, content []byte) ([]byte, error) {
	if strings.ContainsAny(name, " \n>") || name == "" {
		return nil, fmt.Errorf("section name %q: must be one word", name)
	}
	begin, end := []byte(Begin(name)), []byte(End(name))
	nb, ne := bytes.Count(doc, begin), bytes.Count(doc, end)
	body := bytes.TrimRight(content, "\n")
	if nb == 0 && ne == 0 {
		var out bytes.Buffer
		out.Write(bytes.TrimRight(doc, "\n"))
		if out.Len() > 0 {
			out.WriteString("\n\n")
		}
		fmt.Fprintf(&out, "%s\n%s\n%s\n", begin, body, end)
		return out.Bytes(), nil
	}
	if nb != 1 || ne != 1 {
		return nil, fmt.Errorf("section %q: %d begin and %d end markers, want one of each: %w", name, nb, ne, ErrMalformed)
	}
	i, j := bytes.Index(doc, begin), bytes.Index(doc, end)
	if j < i {
		return nil, fmt.Errorf("section %q: end marker before begin marker: %w", name, ErrMalformed)
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString("\n")
	out.Write(body)
	out.WriteString("\n")
	out.Write(doc[j:])
	return out.Bytes(), nil
}
