// Command benchreport writes the generated sections of BENCHMARKS.md from
// the raw results scripts/bench.sh leaves in a directory:
//
//	machine.md               the machine description (section "machine")
//	keys-one.json            hyperfine, one simulated key   (section "keys")
//	keys-two.json            hyperfine, two simulated keys  (section "keys")
//	scan-keys.txt            go test -bench 'Keys|MinimalClient' ./device/scan
//	scan-arrival.txt         go test -bench 'Arrival' ./device/scan  (section "arrival")
//	scan-idle.txt            go test -bench 'WatchIdle' ./device/scan
//	scan-readerlist-arrival.txt  go test -bench ReaderListArrival ./device/scan (section "readerlist")
//	scan-readerlist-idle.txt     go test -bench ReaderListIdle ./device/scan
//	gui.md                   scripts/guibench.sh's table (section "gui")
//	clicks.md                ui's TestClicksToReport -clicks: clicks and keystrokes
//	                         from Welcome to a sent report (section "clicks")
//	simstart.txt             scripts/simstart.sh: 20 starts of --simulate (section "simstart")
//	tracker-server.txt       go test -bench 'Ingest|Dashboard' ./tracker/server (section "tracker")
//	tracker-store.txt        go test -bench SubmitReport ./tracker/store
//	tracker-noisy.txt        go test -bench NoisyNeighbour ./tracker/server
//
// A part that could not be measured has NAME.failed instead (the reason,
// written by bench.sh) and its section says so. Every target is checked and
// printed as PASS or MISS; benchreport exits 3 when any is missed, so
// `make bench` shows it, after writing the document.
//
//	benchreport -dir RESULTS -doc BENCHMARKS.md
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keywizard/keywizard/internal/benchtools"
)

// The hyperfine command names (-n) scripts/bench.sh uses.
const (
	nameKeywizard = "keywizard keys --json"
	nameYkman     = "ykman info"
	nameYkmanTwo  = "ykman info, both readers in turn"
	nameFloor     = "pcscfloor"
	nameFloorFIDO = "pcscfloor + FIDO HID"
)

func main() {
	dir := flag.String("dir", "", "directory holding the raw results of scripts/bench.sh")
	doc := flag.String("doc", "BENCHMARKS.md", "document to update")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchreport: -dir is required")
		os.Exit(2)
	}
	missed, err := run(os.DirFS(*dir), *doc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "benchreport: %d target(s) missed; see %s\n", missed, *doc)
		os.Exit(3)
	}
}

// run renders every section from results and splices them into the file
// at doc. It returns how many targets were missed.
func run(results fs.FS, doc string) (int, error) {
	b, err := os.ReadFile(doc)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	r := &report{fs: results}
	sections := []struct {
		name   string
		render func() string
	}{
		{"machine", r.machine},
		{"keys", r.keys},
		{"arrival", r.arrival},
		{"readerlist", r.readerList},
		{"gui", r.gui},
		{"clicks", r.clicks},
		{"simstart", r.simstart},
		{"tracker", r.tracker},
		// Last: it lists the verdicts the sections above produced.
		{"summary", r.summary},
	}
	for _, s := range sections {
		if b, err = benchtools.Splice(b, s.name, []byte(s.render())); err != nil {
			return 0, fmt.Errorf("updating %s: %w", doc, err)
		}
	}
	if err := os.WriteFile(filepath.Clean(doc), b, 0o644); err != nil {
		return 0, err
	}
	return r.missed, nil
}

// report renders sections from the results directory, counting misses.
type report struct {
	fs      fs.FS
	missed  int
	verdict []string // one line per target, for the summary
}

// summary lists every target checked in this run with its verdict.
func (r *report) summary() string {
	if len(r.verdict) == 0 {
		return "**No target could be checked in this run.**\n"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d of %d targets met in the last run:\n\n", len(r.verdict)-r.missed, len(r.verdict))
	for _, v := range r.verdict {
		sb.WriteString("- " + v + "\n")
	}
	return sb.String()
}

// notMeasured explains why a part has no numbers: the reason bench.sh
// wrote, else why its results could not be used (cause), else that they
// are missing.
func (r *report) notMeasured(name string, cause ...error) string {
	why, err := fs.ReadFile(r.fs, name+".failed")
	if err != nil {
		why = []byte("its results are missing (" + name + ")")
		if len(cause) > 0 && cause[0] != nil && !errors.Is(cause[0], fs.ErrNotExist) {
			why = []byte("its results are unusable: " + cause[0].Error())
		}
	}
	return "**Not measured in this run:** " + strings.TrimSpace(string(why)) + "\n"
}

func (r *report) machine() string {
	b, err := fs.ReadFile(r.fs, "machine.md")
	if err != nil {
		return r.notMeasured("machine")
	}
	return string(b)
}

func (r *report) gui() string {
	b, err := fs.ReadFile(r.fs, "gui.md")
	if err != nil {
		return r.notMeasured("gui", err)
	}
	// guibench.sh judges its own targets: its result column says "ok" or
	// "**over**". A row over its target is a miss like any other.
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 5 || strings.HasPrefix(line, "|---") || strings.Contains(cells[0], "measure") {
			continue
		}
		v := "PASS"
		if strings.TrimSpace(cells[len(cells)-1]) == "**over**" {
			r.missed++
			v = "**MISS**"
		}
		r.verdict = append(r.verdict, fmt.Sprintf("GUI %s: %s (keywizard %s, empty window %s, limit %s)",
			strings.TrimSpace(cells[0]), v, strings.TrimSpace(cells[2]), strings.TrimSpace(cells[1]), strings.TrimSpace(cells[3])))
	}
	return strings.TrimSpace(string(b)) + "\n"
}

// clicks is the effort figure: no target beyond the budget its test
// enforces, so it is reported, not judged.
func (r *report) clicks() string {
	b, err := fs.ReadFile(r.fs, "clicks.md")
	if err != nil {
		return r.notMeasured("clicks", err)
	}
	return strings.TrimSpace(string(b)) + "\n"
}

// simstart judges scripts/simstart.sh's last line, "simstart: K/N starts
// reached the first screen": every start must.
func (r *report) simstart() string {
	b, err := fs.ReadFile(r.fs, "simstart.txt")
	if err != nil {
		return r.notMeasured("simstart", err)
	}
	var ok, n int
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "simstart: %d/%d starts reached the first screen", &ok, &n); err == nil {
			break
		}
	}
	v := "PASS"
	if n == 0 || ok != n {
		r.missed++
		v = "**MISS**"
	}
	r.verdict = append(r.verdict, fmt.Sprintf("keywizard --simulate starts reaching the first screen: %s (%d of %d)", v, ok, n))
	return fmt.Sprintf("%d of %d consecutive `keywizard --simulate` starts under Xvfb reached the first screen (%s).\n\n```\n%s\n```\n", ok, n, v, strings.TrimSpace(string(b)))
}

// checks renders targets as a table and counts misses.
func (r *report) checks(cs []benchtools.Check) string {
	var sb strings.Builder
	sb.WriteString("| target | measured | limit | result |\n|---|---|---|---|\n")
	for _, c := range cs {
		if !c.Pass() {
			r.missed++
		}
		r.verdict = append(r.verdict, fmt.Sprintf("%s: %s (%s %s, limit %s)", c.What, c.Verdict(), num(c.Got), c.Unit, c.Rule))
		fmt.Fprintf(&sb, "| %s | %s %s | %s | %s |\n", c.What, num(c.Got), c.Unit, c.Rule, c.Verdict())
	}
	return sb.String()
}

// num formats a measurement: one decimal, two below 10.
func num(v float64) string {
	if v < 10 && v > -10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func ms(seconds float64) float64 { return seconds * 1000 }

func (r *report) hyperfine(name string) ([]benchtools.Command, error) {
	b, err := fs.ReadFile(r.fs, name)
	if err != nil {
		return nil, err
	}
	return benchtools.ParseHyperfine(b)
}

func (r *report) goBench(name string) ([]benchtools.Result, error) {
	f, err := r.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := benchtools.ParseGoBench(f)
	if err == nil && len(rs) == 0 {
		err = fmt.Errorf("%s holds no benchmark results", name)
	}
	return rs, err
}

func commandTable(cs []benchtools.Command, names ...string) (string, map[string]benchtools.Command, error) {
	var sb strings.Builder
	sb.WriteString("| command | wall median, ms | wall mean ± σ, ms | CPU user + sys, mean ms | runs |\n|---|---|---|---|---|\n")
	got := map[string]benchtools.Command{}
	for _, n := range names {
		c, ok := benchtools.FindCommand(cs, n)
		if !ok {
			return "", nil, fmt.Errorf("hyperfine results lack %q", n)
		}
		got[n] = c
		fmt.Fprintf(&sb, "| %s | %s | %s ± %s | %s (%s + %s) | %d |\n", n, num(ms(c.Median)), num(ms(c.Mean)), num(ms(c.Stddev)),
			num(ms(c.CPU())), num(ms(c.User)), num(ms(c.System)), c.Runs)
	}
	return sb.String(), got, nil
}

func (r *report) keys() string {
	var sb strings.Builder
	one, err1 := r.hyperfine("keys-one.json")
	two, err2 := r.hyperfine("keys-two.json")
	switch {
	case err1 != nil:
		sb.WriteString(r.notMeasured("keys-one", err1))
	case err2 != nil:
		sb.WriteString(r.notMeasured("keys-two", err2))
	}
	if err1 == nil && err2 == nil {
		t1, c1, err := commandTable(one, nameKeywizard, nameYkman, nameFloor, nameFloorFIDO)
		if err != nil {
			return sb.String() + "**Not usable:** " + err.Error() + "\n"
		}
		t2, c2, err := commandTable(two, nameKeywizard, nameFloor, nameFloorFIDO, nameYkmanTwo)
		if err != nil {
			return sb.String() + "**Not usable:** " + err.Error() + "\n"
		}
		sb.WriteString("One simulated key (`keywizard sim --model 5c-nano --slot 0`; the other vpcd reader empty):\n\n")
		sb.WriteString(t1)
		sb.WriteString("\nTwo simulated keys (a 5C Nano in slot 0 and a 5C NFC in slot 1):\n\n")
		sb.WriteString(t2)
		kw1, yk1, fl1, ff1 := c1[nameKeywizard], c1[nameYkman], c1[nameFloor], c1[nameFloorFIDO]
		kw2, fl2, ff2 := c2[nameKeywizard], c2[nameFloor], c2[nameFloorFIDO]
		// Wall times are compared by their means, not medians: through
		// pcscd + vpcd connect times have been bimodal (~85 or ~130 ms
		// while the simulator's TCP ACKs were delayed), and a median
		// jumps between modes from run to run while the mean estimates
		// the expected time whatever the distribution's shape.
		sb.WriteString("\nTargets (wall and CPU: means over the runs):\n\n")
		sb.WriteString(r.checks([]benchtools.Check{
			{What: "CPU, one key: keywizard ≤ 0.1 × ykman", Got: ms(kw1.CPU()), Unit: "ms",
				Limit: 0.1 * ms(yk1.CPU()), Rule: fmt.Sprintf("0.1 × %s = %s ms", num(ms(yk1.CPU())), num(0.1*ms(yk1.CPU())))},
			{What: "wall, one key: keywizard ≤ ykman", Got: ms(kw1.Mean), Unit: "ms",
				Limit: ms(yk1.Mean), Rule: num(ms(yk1.Mean)) + " ms"},
			{What: "wall, two keys ≤ 1.3 × one key (keywizard)", Got: ms(kw2.Mean), Unit: "ms",
				Limit: 1.3 * ms(kw1.Mean), Rule: fmt.Sprintf("1.3 × %s = %s ms", num(ms(kw1.Mean)), num(1.3*ms(kw1.Mean)))},
			{What: "wall, one key: keywizard ≤ 1.25 × floor", Got: ms(kw1.Mean), Unit: "ms",
				Limit: 1.25 * ms(fl1.Mean), Rule: fmt.Sprintf("1.25 × %s = %s ms", num(ms(fl1.Mean)), num(1.25*ms(fl1.Mean)))},
			{What: "wall, two keys: keywizard ≤ 1.25 × floor", Got: ms(kw2.Mean), Unit: "ms",
				Limit: 1.25 * ms(fl2.Mean), Rule: fmt.Sprintf("1.25 × %s = %s ms", num(ms(fl2.Mean)), num(1.25*ms(fl2.Mean)))},
		}))
		fmt.Fprintf(&sb, "\nRatios (means): keywizard/ykman CPU %.3f, wall %.2f; two/one keys %.2f; keywizard/floor %.2f (one key), %.2f (two keys). "+
			"Medians for comparison: keywizard/ykman wall %.2f, two/one keys %.2f, keywizard/floor %.2f and %.2f.\n",
			kw1.CPU()/yk1.CPU(), kw1.Mean/yk1.Mean, kw2.Mean/kw1.Mean, kw1.Mean/fl1.Mean, kw2.Mean/fl2.Mean,
			kw1.Median/yk1.Median, kw2.Median/kw1.Median, kw1.Median/fl1.Median, kw2.Median/fl2.Median)
		// Not a target: the floor is the reader path alone. This
		// splits keywizard's distance from it into what linking and asking
		// go-libfido2 costs any client and what is keywizard's own.
		fmt.Fprintf(&sb, "\nWith the FIDO HID part of discovery (pcscfloor + FIDO HID: the same PC/SC work plus go-libfido2 linked and "+
			"its device list read): floor + FIDO / floor %.2f (one key), %.2f (two keys); keywizard / (floor + FIDO) %.2f (one key), %.2f (two keys).\n",
			ff1.Mean/fl1.Mean, ff2.Mean/fl2.Mean, kw1.Mean/ff1.Mean, kw2.Mean/ff2.Mean)
		sb.WriteString("\nWall times of every run, sorted (ms), to show the distribution:\n\n")
		for _, set := range []struct {
			title string
			cs    map[string]benchtools.Command
			names []string
		}{{"one key", c1, []string{nameKeywizard, nameFloor, nameFloorFIDO}}, {"two keys", c2, []string{nameKeywizard, nameFloor, nameFloorFIDO}}} {
			for _, n := range set.names {
				fmt.Fprintf(&sb, "- %s, %s: %s\n", n, set.title, sortedMS(set.cs[n].Times))
			}
		}
	}

	sb.WriteString("\nIn process (`device/scan` benchmarks: `Scanner.Keys` against the same floor as a function, no process start; " +
		"CPU is the test process's, simulator included):\n\n")
	rs, err := r.goBench("scan-keys.txt")
	if err != nil {
		sb.WriteString(r.notMeasured("scan-keys", err))
		return sb.String()
	}
	sb.WriteString(benchTable(rs, []string{"ms/op", "cpu-ms/op"}, "BenchmarkKeysOne", "BenchmarkKeysTwo", "BenchmarkMinimalClient/one", "BenchmarkMinimalClient/two"))
	k1, ok1 := benchtools.Summarize(rs, "BenchmarkKeysOne", "ms/op")
	k2, ok2 := benchtools.Summarize(rs, "BenchmarkKeysTwo", "ms/op")
	m1, ok3 := benchtools.Summarize(rs, "BenchmarkMinimalClient/one", "ms/op")
	if ok1 && ok2 && ok3 {
		// Diagnostics, not targets: the targets are the process
		// ones above. In process the simulator shares the two cores with
		// the scanner, and Keys holds a PC/SC transaction per card (two
		// more calls to pcscd, device/scan/system.go) that the minimal
		// client skips.
		fmt.Fprintf(&sb, "\nRatios (medians; diagnostics, not targets): Keys two keys / one key %.2f; Keys one key / MinimalClient one %.2f.\n",
			k2.Median/k1.Median, k1.Median/m1.Median)
	}
	return sb.String()
}

// sortedMS lists times (seconds) sorted, in whole milliseconds.
func sortedMS(times []float64) string {
	ts := slices.Clone(times)
	slices.Sort(ts)
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%.0f", ms(t))
	}
	return strings.Join(parts, " ")
}

// benchTable shows each named benchmark's units as median (min–max, n).
func benchTable(rs []benchtools.Result, units []string, names ...string) string {
	var sb strings.Builder
	sb.WriteString("| benchmark |")
	for _, u := range units {
		fmt.Fprintf(&sb, " %s, median (min–max) |", u)
	}
	sb.WriteString(" runs |\n|---|")
	for range units {
		sb.WriteString("---|")
	}
	sb.WriteString("---|\n")
	for _, n := range names {
		fmt.Fprintf(&sb, "| %s |", strings.TrimPrefix(n, "Benchmark"))
		count := 0
		for _, u := range units {
			s, ok := benchtools.Summarize(rs, n, u)
			if !ok {
				sb.WriteString(" – |")
				continue
			}
			count = s.Count
			fmt.Fprintf(&sb, " %s (%s–%s) |", num(s.Median), num(s.Min), num(s.Max))
		}
		fmt.Fprintf(&sb, " %d |\n", count)
	}
	return sb.String()
}

func (r *report) arrival() string {
	var sb strings.Builder
	rs, err := r.goBench("scan-arrival.txt")
	if err != nil {
		sb.WriteString(r.notMeasured("scan-arrival", err))
	} else {
		sb.WriteString(benchTable(rs, []string{"ms/op", "cpu-ms/op"}, "BenchmarkArrivalToEvent", "BenchmarkArrivalMinimalWaiter"))
		w, ok1 := benchtools.Summarize(rs, "BenchmarkArrivalToEvent", "ms/op")
		f, ok2 := benchtools.Summarize(rs, "BenchmarkArrivalMinimalWaiter", "ms/op")
		if ok1 && ok2 {
			sb.WriteString("\n")
			sb.WriteString(r.checks([]benchtools.Check{
				{What: "arrival: watcher − floor ≤ 50 ms", Got: w.Median - f.Median, Unit: "ms", Limit: 50,
					Rule: fmt.Sprintf("50 ms (watcher %s − floor %s)", num(w.Median), num(f.Median))},
			}))
			// The watcher's Arrived event carries the key (serial, model),
			// so it must connect and read the management info: the floor
			// of that is MinimalClient/one. Show what is left once it is
			// accounted for.
			if keys, err := r.goBench("scan-keys.txt"); err == nil {
				if m, ok := benchtools.Summarize(keys, "BenchmarkMinimalClient/one", "ms/op"); ok {
					fmt.Fprintf(&sb, "\nThe event carries the key's serial and model, so the watcher connects and reads the management "+
						"info before reporting; the floor of that read is MinimalClient/one (%s ms, above). "+
						"Watcher − (waiter + that read) = %s − (%s + %s) = %s ms.\n",
						num(m.Median), num(w.Median), num(f.Median), num(m.Median), num(w.Median-f.Median-m.Median))
				}
			}
		}
	}
	sb.WriteString("\nIdle (CPU of the test process per second of idling with one simulated key attached; the baseline is the simulator " +
		"answering vpcd's presence polls, \"watching\" adds a running watcher):\n\n")
	rs, err = r.goBench("scan-idle.txt")
	if err != nil {
		sb.WriteString(r.notMeasured("scan-idle", err))
		return sb.String()
	}
	sb.WriteString(benchTable(rs, []string{"cpu-ms/idle-s"}, "BenchmarkWatchIdle/baseline", "BenchmarkWatchIdle/watching"))
	base, ok1 := benchtools.Summarize(rs, "BenchmarkWatchIdle/baseline", "cpu-ms/idle-s")
	watch, ok2 := benchtools.Summarize(rs, "BenchmarkWatchIdle/watching", "cpu-ms/idle-s")
	if ok1 && ok2 {
		sb.WriteString("\n")
		sb.WriteString(r.checks([]benchtools.Check{
			{What: "idle: watching − baseline (no CPU while nothing changes)", Got: watch.Median - base.Median, Unit: "ms per idle s",
				Limit: idleNoise, Rule: fmt.Sprintf("%s ms/s (noise allowance)", num(idleNoise))},
		}))
	}
	return sb.String()
}

// idleNoise is what "no CPU while idle" may measure: 0.5 ms of CPU per
// second of idling (0.05 % of a core). getrusage is exact to the
// microsecond, but the test process is not otherwise silent (the Go
// runtime's sysmon and the simulator answering vpcd), so two medians of the
// same idle process differ by a little; a watcher that polled would show as
// a steady cost per wake-up instead.
const idleNoise = 0.5

// readerList is the watcher without a PnP notification reader (macOS),
// measured on the macOS-like layer (device/scan/macpcsc): arrival to event,
// and idle CPU over 60 s next to the watcher on Linux's path (the PnP
// reader) and no watcher at all, taking turns (BenchmarkReaderListIdle).
// The idle checks judge this process's CPU; pcscd's is shown beside it.
func (r *report) readerList() string {
	var sb strings.Builder
	rs, err := r.goBench("scan-readerlist-arrival.txt")
	if err != nil {
		sb.WriteString(r.notMeasured("scan-readerlist-arrival", err))
	} else {
		sb.WriteString(benchTable(rs, []string{"ms/op", "max-ms", "after-service-ms", "after-service-max-ms"},
			"BenchmarkReaderListArrival/pnp", "BenchmarkReaderListArrival/listing", "BenchmarkReaderListArrival/listing-replug"))
		l, ok1 := benchtools.Summarize(rs, "BenchmarkReaderListArrival/listing", "ms/op")
		w, ok2 := benchtools.Summarize(rs, "BenchmarkReaderListArrival/listing", "after-service-max-ms")
		if !ok1 || !ok2 {
			r.missed++
			sb.WriteString(r.notMeasured("scan-readerlist-arrival", fmt.Errorf("no ms/op or after-service-max-ms for BenchmarkReaderListArrival/listing")))
		} else {
			sb.WriteString("\n")
			sb.WriteString(r.checks([]benchtools.Check{
				{What: "macOS-like arrival: key connected → watcher's event, mean ≤ 1 s", Got: l.Median, Unit: "ms", Limit: 1000, Rule: "1000 ms"},
				{What: "macOS-like arrival: service shows the key → watcher's event, slowest of every run ≤ 1 s", Got: w.Max, Unit: "ms", Limit: 1000, Rule: "1000 ms"},
			}))
		}
	}
	rs, err = r.goBench("scan-readerlist-idle.txt")
	if err != nil {
		sb.WriteString("\n" + r.notMeasured("scan-readerlist-idle", err))
		return sb.String()
	}
	const name = "BenchmarkReaderListIdle"
	rounds := 0
	for _, res := range rs {
		if res.Name == name {
			rounds = res.N
		}
	}
	fmt.Fprintf(&sb, "\nIdle, %d s of each in %d turns of 10 s (CPU per second of idling with one simulated key attached, of the test process "+
		"and of pcscd; \"baseline\" runs no watcher, \"pnp\" the watcher on pcscd with its PnP reader as on Linux, \"listing\" the "+
		"reader-list watcher on the macOS-like layer):\n\n", 10*rounds, rounds)
	type idle struct{ cpu, lo, hi, pcscd float64 }
	get := func(mode string) (idle, bool) {
		var v idle
		var ok [4]bool
		for _, res := range rs {
			if res.Name != name {
				continue
			}
			v.cpu, ok[0] = res.Metric(mode + "-cpu-ms/idle-s")
			v.lo, ok[1] = res.Metric(mode + "-min-cpu-ms/idle-s")
			v.hi, ok[2] = res.Metric(mode + "-max-cpu-ms/idle-s")
			v.pcscd, ok[3] = res.Metric(mode + "-pcscd-ms/idle-s")
		}
		return v, ok[0] && ok[1] && ok[2] && ok[3]
	}
	sb.WriteString("| mode | this process, ms/s: mean (lowest–highest 10 s) | pcscd, ms/s: mean | both, ms/s |\n|---|---|---|---|\n")
	modes := map[string]idle{}
	for _, m := range []string{"baseline", "pnp", "listing"} {
		v, ok := get(m)
		if !ok {
			fmt.Fprintf(&sb, "| %s | – | – | – |\n", m)
			continue
		}
		modes[m] = v
		fmt.Fprintf(&sb, "| %s | %s (%s–%s) | %s | %s |\n", m, num(v.cpu), num(v.lo), num(v.hi), num(v.pcscd), num(v.cpu+v.pcscd))
	}
	base, ok := modes["baseline"]
	if !ok {
		// A results file without the figure the target needs is a
		// target not shown to be met.
		r.missed++
		sb.WriteString(r.notMeasured("scan-readerlist-idle", fmt.Errorf("no baseline in %s", name)))
		return sb.String()
	}
	// The targets are on this process's CPU: what the watcher itself
	// uses. pcscd's difference is shown beside it but not judged: pcscd
	// serves every program on this shared machine, and other programs'
	// use of it during one turn shows up as the watcher's.
	var cs []benchtools.Check
	var service []string
	for _, c := range []struct{ mode, what string }{
		{"pnp", "Linux idle (PnP reader): pnp − baseline, this process (no CPU while idle)"},
		{"listing", "macOS-like idle: listing − baseline, this process (no measurable CPU)"},
	} {
		v, ok := modes[c.mode]
		if !ok {
			r.missed++
			sb.WriteString(r.notMeasured("scan-readerlist-idle", fmt.Errorf("no %s in %s", c.mode, name)))
			continue
		}
		cs = append(cs, benchtools.Check{What: c.what, Got: v.cpu - base.cpu, Unit: "ms per idle s",
			Limit: idleNoise, Rule: fmt.Sprintf("%s ms/s (noise allowance)", num(idleNoise))})
		service = append(service, fmt.Sprintf("%s %s ms/s", c.mode, num(v.pcscd-base.pcscd)))
	}
	if len(cs) > 0 {
		sb.WriteString("\n")
		sb.WriteString(r.checks(cs))
		fmt.Fprintf(&sb, "\nThe baseline's 10 s turns ranged over %s ms/s of this process's CPU: how far two measurements of the same idle process differ here. "+
			"pcscd − its baseline (not judged: pcscd serves every program on the machine): %s.\n",
			num(base.hi-base.lo), strings.Join(service, ", "))
	}
	return sb.String()
}

func (r *report) tracker() string {
	var sb strings.Builder
	for _, part := range []struct{ file, title string }{
		{"tracker-server.txt", "`go test -run '^$' -bench 'Ingest|Dashboard' -benchtime 3s ./tracker/server`"},
		{"tracker-store.txt", "`go test -run '^$' -bench SubmitReport -benchtime 2s ./tracker/store`"},
		{"tracker-noisy.txt", "`go test -run '^$' -bench NoisyNeighbour -benchtime 1x ./tracker/server` (others' report latency while one token sends 1,500 reports; target p99 < 50 ms)"},
	} {
		fmt.Fprintf(&sb, "%s:\n\n", part.title)
		rs, err := r.goBench(part.file)
		if err != nil {
			sb.WriteString(r.notMeasured(strings.TrimSuffix(part.file, ".txt"), err))
			sb.WriteString("\n")
			continue
		}
		sb.WriteString("| benchmark | results |\n|---|---|\n")
		for _, res := range rs {
			var ms []string
			for _, m := range res.Metrics {
				if m.Unit == "ns/op" && len(res.Metrics) > 1 {
					continue // the custom metrics say it better
				}
				ms = append(ms, num(m.Value)+" "+m.Unit)
			}
			fmt.Fprintf(&sb, "| %s | %s |\n", strings.TrimPrefix(res.Name, "Benchmark"), strings.Join(ms, ", "))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
