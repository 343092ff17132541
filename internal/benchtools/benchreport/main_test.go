package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func hf(cmds ...string) []byte { return []byte(`{"results": [` + strings.Join(cmds, ",") + `]}`) }

func cmd(name string, median, user float64) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return strings.NewReplacer("NAME", name, "MED", f(median), "USER", f(user)).Replace(
		`{"command": "NAME", "mean": MED, "stddev": 0.001, "median": MED, "user": USER, "system": 0.001,` +
			` "min": MED, "max": MED, "times": [MED, MED], "exit_codes": [0, 0]}`)
}

const scanKeys = `BenchmarkKeysOne-2 20 1 ns/op 100.0 ms/op 3.0 cpu-ms/op
BenchmarkKeysTwo-2 20 1 ns/op 120.0 ms/op 5.0 cpu-ms/op
BenchmarkMinimalClient/one-2 20 1 ns/op 90.0 ms/op 1.0 cpu-ms/op
BenchmarkMinimalClient/two-2 20 1 ns/op 110.0 ms/op 2.0 cpu-ms/op
`

const scanArrival = `BenchmarkArrivalToEvent-2 20 1 ns/op 420.0 ms/op 1.0 cpu-ms/op
BenchmarkArrivalMinimalWaiter-2 20 1 ns/op 400.0 ms/op 0.5 cpu-ms/op
`

// TestRun renders a full set of results into a document with hand-written
// text and checks the verdicts: one wall target is made to miss.
func TestRun(t *testing.T) {
	results := fstest.MapFS{
		"machine.md": {Data: []byte("- CPU: test\n")},
		// keywizard: 0.2 s wall, 0.011 s CPU; ykman 0.5 s, 0.116 s CPU;
		// floor 0.15 s, so keywizard is 1.33x the floor: a miss.
		"keys-one.json":    {Data: hf(cmd(nameKeywizard, 0.2, 0.01), cmd(nameYkman, 0.5, 0.115), cmd(nameFloor, 0.15, 0.001), cmd(nameFloorFIDO, 0.16, 0.002))},
		"keys-two.json":    {Data: hf(cmd(nameKeywizard, 0.22, 0.015), cmd(nameFloor, 0.2, 0.002), cmd(nameFloorFIDO, 0.21, 0.003), cmd(nameYkmanTwo, 1.0, 0.23))},
		"scan-keys.txt":    {Data: []byte(scanKeys)},
		"scan-arrival.txt": {Data: []byte(scanArrival)},
		"scan-idle.txt": {Data: []byte("BenchmarkWatchIdle/baseline-2 10 1 ns/op 0.40 cpu-ms/idle-s\n" +
			"BenchmarkWatchIdle/watching-2 10 1 ns/op 0.45 cpu-ms/idle-s\n")},
		"gui.failed":           {Data: []byte("scripts/guibench.sh exited with status 1\n")},
		"tracker-server.txt":   {Data: []byte("BenchmarkIngest/sqlite-2 1000 300000 ns/op 3300 reports/s\n")},
		"tracker-store.failed": {Data: []byte("KEYWIZARD_TEST_POSTGRES not set")},
	}
	doc := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	hand := "# Benchmarks\n\nHand-written intro.\n\n<!-- bench:keys -->\nstale\n<!-- /bench:keys -->\n\nHand-written after keys.\n"
	if err := os.WriteFile(doc, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	missed, err := run(results, doc)
	if err != nil {
		t.Fatal(err)
	}
	if missed != 1 {
		t.Errorf("missed = %d, want 1 (one key vs floor)", missed)
	}
	b, _ := os.ReadFile(doc)
	out := string(b)
	for _, want := range []string{
		"Hand-written intro.", "Hand-written after keys.",
		"| CPU, one key: keywizard ≤ 0.1 × ykman | 11.0 ms | 0.1 × 116.0 = 11.6 ms | PASS |",
		"| wall, one key: keywizard ≤ ykman | 200.0 ms | 500.0 ms | PASS |",
		"| wall, two keys ≤ 1.3 × one key (keywizard) | 220.0 ms | 1.3 × 200.0 = 260.0 ms | PASS |",
		"| wall, one key: keywizard ≤ 1.25 × floor | 200.0 ms | 1.25 × 150.0 = 187.5 ms | **MISS** |",
		"| wall, two keys: keywizard ≤ 1.25 × floor | 220.0 ms | 1.25 × 200.0 = 250.0 ms | PASS |",
		"Ratios (medians; diagnostics, not targets): Keys two keys / one key 1.20; Keys one key / MinimalClient one 1.11.",
		"keywizard / (floor + FIDO) 1.25 (one key), 1.05 (two keys).",
		"| arrival: watcher − floor ≤ 50 ms | 20.0 ms |",
		"Watcher − (waiter + that read) = 420.0 − (400.0 + 90.0) = -70.0 ms.",
		"| idle: watching − baseline (no CPU while nothing changes) | 0.05 ms per idle s |",
		"**Not measured in this run:** scripts/guibench.sh exited with status 1",
		"| Ingest/sqlite | 3300.0 reports/s |",
		"**Not measured in this run:** KEYWIZARD_TEST_POSTGRES not set",
		"- CPU: test",
		"6 of 7 targets met in the last run:",
		"- wall, one key: keywizard ≤ 1.25 × floor: **MISS** (200.0 ms, limit 1.25 × 150.0 = 187.5 ms)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("document lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "stale") {
		t.Error("the old keys section survived")
	}

	// A second run over the same results changes nothing.
	if _, err := run(results, doc); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(doc); string(again) != out {
		t.Error("re-running changed the document")
	}
}

// TestRunFailedCommand: a command that failed in hyperfine is not timed.
func TestRunFailedCommand(t *testing.T) {
	bad := strings.Replace(cmd(nameKeywizard, 0.2, 0.01), `"exit_codes": [0, 0]`, `"exit_codes": [0, 1]`, 1)
	results := fstest.MapFS{
		"keys-one.json": {Data: hf(bad, cmd(nameYkman, 0.5, 0.115), cmd(nameFloor, 0.15, 0.001), cmd(nameFloorFIDO, 0.16, 0.002))},
	}
	doc := filepath.Join(t.TempDir(), "B.md")
	if _, err := run(results, doc); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(doc)
	if !strings.Contains(string(b), "**Not measured in this run:** its results are unusable: \"keywizard keys --json\" exited with status 1") {
		t.Errorf("a failed command's timings were used:\n%s", b)
	}
}

// TestWallUsesMean: wall targets compare means (connect times through vpcd
// are bimodal, so medians jump between modes). Here keywizard's median is
// under 1.25 × the floor's but its mean is not: a miss.
func TestWallUsesMean(t *testing.T) {
	kw := `{"command": "` + nameKeywizard + `", "mean": 0.14, "stddev": 0.02, "median": 0.1, "user": 0.005, "system": 0.001,` +
		` "min": 0.09, "max": 0.2, "times": [0.09, 0.1, 0.2], "exit_codes": [0, 0, 0]}`
	results := fstest.MapFS{
		"keys-one.json": {Data: hf(kw, cmd(nameYkman, 0.5, 0.115), cmd(nameFloor, 0.1, 0.001), cmd(nameFloorFIDO, 0.11, 0.002))},
		"keys-two.json": {Data: hf(cmd(nameKeywizard, 0.15, 0.015), cmd(nameFloor, 0.15, 0.002), cmd(nameFloorFIDO, 0.16, 0.003), cmd(nameYkmanTwo, 1.0, 0.23))},
	}
	doc := filepath.Join(t.TempDir(), "B.md")
	missed, err := run(results, doc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(doc)
	for _, want := range []string{
		"| wall, one key: keywizard ≤ 1.25 × floor | 140.0 ms | 1.25 × 100.0 = 125.0 ms | **MISS** |",
		"- keywizard keys --json, one key: 90 100 200\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("document lacks %q:\n%s", want, b)
		}
	}
	if missed != 1 {
		t.Errorf("missed = %d, want 1", missed)
	}
}

// TestGUIVerdicts: rows guibench.sh marks over their target count as misses.
func TestGUIVerdicts(t *testing.T) {
	gui := "| measure | empty window | keywizard --simulate | target | result |\n|---|---|---|---|---|\n" +
		"| first frame, ms | 96 | 3447 | ≤ 1.5 × empty = 144 | **over** |\n" +
		"| RSS after first screen, MB | 108.6 | 120.0 | ≤ empty + 40 = 148.6 | ok |\n" +
		"| CPU idle 30 s, ms | 360 | 470 | ≤ empty | **over** |\n"
	doc := filepath.Join(t.TempDir(), "B.md")
	missed, err := run(fstest.MapFS{"gui.md": {Data: []byte(gui)}}, doc)
	if err != nil {
		t.Fatal(err)
	}
	if missed != 2 {
		t.Errorf("missed = %d, want 2", missed)
	}
	b, _ := os.ReadFile(doc)
	for _, want := range []string{
		"| first frame, ms | 96 | 3447 |",
		"1 of 3 targets met in the last run:",
		"- GUI first frame, ms: **MISS** (keywizard 3447, empty window 96, limit ≤ 1.5 × empty = 144)",
		"- GUI RSS after first screen, MB: PASS (keywizard 120.0, empty window 108.6, limit ≤ empty + 40 = 148.6)",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("document lacks %q:\n%s", want, b)
		}
	}
}

func TestReaderListSection(t *testing.T) {
	idle := func(mode string, cpu, lo, hi, pcscd string) string {
		return " " + cpu + " " + mode + "-cpu-ms/idle-s " + lo + " " + mode + "-min-cpu-ms/idle-s " + hi + " " + mode +
			"-max-cpu-ms/idle-s " + pcscd + " " + mode + "-pcscd-ms/idle-s"
	}
	results := fstest.MapFS{
		"scan-readerlist-arrival.txt": {Data: []byte("BenchmarkReaderListArrival/pnp-2 20 1 ns/op 190.0 ms/op 400.0 max-ms 2.0 after-service-ms 4.0 after-service-max-ms\n" +
			"BenchmarkReaderListArrival/listing-2 20 1 ns/op 450.0 ms/op 900.0 max-ms 300.0 after-service-ms 700.0 after-service-max-ms\n" +
			"BenchmarkReaderListArrival/listing-2 20 1 ns/op 470.0 ms/op 1300.0 max-ms 320.0 after-service-ms 1100.0 after-service-max-ms\n" +
			"BenchmarkReaderListArrival/listing-replug-2 20 1 ns/op 300.0 ms/op 450.0 max-ms 130.0 after-service-ms 210.0 after-service-max-ms\n")},
		"scan-readerlist-idle.txt": {Data: []byte("BenchmarkReaderListIdle-2 6 1 ns/op" +
			idle("baseline", "1.20", "1.00", "1.60", "0.80") + idle("pnp", "1.30", "1.10", "1.50", "0.80") +
			idle("listing", "1.80", "1.70", "2.00", "1.00") + "\n")},
	}
	doc := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	missed, err := run(results, doc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(doc)
	out := string(b)
	for _, want := range []string{
		"| ReaderListArrival/listing | 460.0 (450.0–470.0) | 1100.0 (900.0–1300.0) | 310.0 (300.0–320.0) | 900.0 (700.0–1100.0) | 2 |",
		"| ReaderListArrival/listing-replug | 300.0 (300.0–300.0) | 450.0 (450.0–450.0) | 130.0 (130.0–130.0) | 210.0 (210.0–210.0) | 1 |",
		"| macOS-like arrival: key connected → watcher's event, mean ≤ 1 s | 460.0 ms | 1000 ms | PASS |",
		"| macOS-like arrival: service shows the key → watcher's event, slowest of every run ≤ 1 s | 1100.0 ms | 1000 ms | **MISS** |",
		"| baseline | 1.20 (1.00–1.60) | 0.80 | 2.00 |",
		"| listing | 1.80 (1.70–2.00) | 1.00 | 2.80 |",
		"| Linux idle (PnP reader): pnp − baseline, this process (no CPU while idle) | 0.10 ms per idle s | 0.50 ms/s (noise allowance) | PASS |",
		"| macOS-like idle: listing − baseline, this process (no measurable CPU) | 0.60 ms per idle s | 0.50 ms/s (noise allowance) | **MISS** |",
		"ranged over 0.60 ms/s",
		"pnp 0.00 ms/s, listing 0.20 ms/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("document lacks %q:\n%s", want, out)
		}
	}
	if missed != 2 {
		t.Errorf("missed = %d, want 2 (the slowest macOS-like arrival and the macOS-like idle CPU)", missed)
	}
}

// TestReaderListSectionMissingMode: an idle result without the listing
// watcher's figures is not a target met.
func TestReaderListSectionMissingMode(t *testing.T) {
	results := fstest.MapFS{
		"scan-readerlist-arrival.txt": {Data: []byte("BenchmarkReaderListArrival/listing-2 20 1 ns/op 450.0 ms/op 600.0 after-service-max-ms\n")},
		"scan-readerlist-idle.txt": {Data: []byte("BenchmarkReaderListIdle-2 6 1 ns/op 1.2 baseline-cpu-ms/idle-s 1.0 baseline-min-cpu-ms/idle-s " +
			"1.4 baseline-max-cpu-ms/idle-s 0.8 baseline-pcscd-ms/idle-s 1.2 pnp-cpu-ms/idle-s 1.0 pnp-min-cpu-ms/idle-s " +
			"1.4 pnp-max-cpu-ms/idle-s 0.8 pnp-pcscd-ms/idle-s\n")},
	}
	doc := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	missed, err := run(results, doc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(doc)
	if !strings.Contains(string(b), "no listing in BenchmarkReaderListIdle") {
		t.Errorf("document does not say the listing figure is missing:\n%s", b)
	}
	if missed != 1 {
		t.Errorf("missed = %d, want 1 (the listing figure is missing)", missed)
	}
}
