#!/usr/bin/env bash
# bench.sh runs every benchmark the issues ask for and rewrites the generated
# sections of BENCHMARKS.md (between <!-- bench:NAME --> markers; the
# hand-written text around them stays):
#   machine   the machine the numbers come from
#   keys      `keywizard keys --json` vs `ykman info` vs pcscfloor (the
#             minimal PC/SC client, internal/benchtools/pcscfloor) with one
#             and two simulated keys, hyperfine wall and CPU; plus the
#             in-process device/scan benchmarks
#   arrival   arrival-to-event of the watcher vs a bare GetStatusChange
#             waiter, and the watcher's CPU while idle (device/scan)
#   readerlist the same for the reader-list watcher (no PnP reader, as on
#             macOS) on the macOS-like layer (device/scan/macpcsc)
#   gui       scripts/guibench.sh's table (first frame, RSS, idle CPU vs an
#             empty Fyne window)
#   tracker   the tracker's ingest, dashboard and store benchmarks
# It is `make bench`, which builds bin/keywizard, starts pcscd (+ vpcd) and
# sets KEYWIZARD_TEST_POSTGRES first. Every part that touches the vpcd
# readers holds the machine-wide vpcd lock (internal/testenv.LockFile) so
# tests of other processes never share a slot with it. A part that fails is
# reported as "not measured" in BENCHMARKS.md and makes bench.sh exit
# non-zero; a missed target is printed as MISS and also exits non-zero.
# Raw results (hyperfine JSON, go test output) stay in bin/bench/.
#
# Environment: BENCH_RUNS (hyperfine runs per command, default 40),
# BENCH_GUI_RUNS (guibench runs, default 5: the empty window alone varies by 2x between runs), BENCH_DOC (default BENCHMARKS.md).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
export LANG=en_US.UTF-8 CGO_ENABLED=1

tags="${TAGS:-migrated_fynedo,no_emoji}"
bin=bin/keywizard
lock=/tmp/keywizard-vpcd.lock
runs="${BENCH_RUNS:-40}"
gui_runs="${BENCH_GUI_RUNS:-5}"
doc="${BENCH_DOC:-BENCHMARKS.md}"
out=bin/bench
reader0="Virtual PCD 00 00"
reader1="Virtual PCD 00 01"
status=0
start=$(date +%s)

log() { echo "bench: $*" >&2; }
# failed PART WHY: the part is reported as not measured.
failed() {
	local part="$1"; shift
	echo "$*" >"$out/$part.failed"
	log "$part not measured: $*"
	status=1
}

if [ ! -x "$bin" ]; then
	echo "bench: $bin is missing; run \`make bench\` (it builds it first)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out"
# pcscfloor is built exactly as keywizard is (Makefile build), so the
# comparison is of the work done, not of the build.
go build -tags "$tags" -trimpath -o bin/pcscfloor ./internal/benchtools/pcscfloor || exit 1
# pcscfloor-fido adds the least FIDO HID discovery through go-libfido2 (which
# keywizard's discovery must do too), to show what that costs by itself.
go build -tags "$tags,fido" -trimpath -o bin/pcscfloor-fido ./internal/benchtools/pcscfloor || exit 1
go build -o bin/benchreport ./internal/benchtools/benchreport || exit 1

# --- machine -----------------------------------------------------------
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
{
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- CPU: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cores available ($(grep -c ^processor /proc/cpuinfo) online)"
	echo "- Memory: $(awk '/^MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "- Kernel: $(uname -sr)"
	echo "- System: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
	echo "- Go: $(go version | awk '{print $3, $4}')"
	echo "- pcscd: $(pkgver pcscd), vsmartcard-vpcd: $(pkgver vsmartcard-vpcd), ykman: $(ykman --version 2>/dev/null | awk '{print $NF}'), hyperfine: $(hyperfine --version | awk '{print $2}')"
	echo "- keywizard: $(git describe --tags --always --dirty 2>/dev/null || echo dev)"
	echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.md"

# --- keys: process level, hyperfine ----------------------------------------
sims=()
# start_sim SLOT SERIAL MODEL: a simulated key in a vpcd slot, in the
# background (the lock's descriptor is not inherited).
start_sim() {
	"$bin" sim --serial "$2" --model "$3" --slot "$1" >"$out/sim$1.log" 2>&1 9>&- &
	sims+=($!)
}
stop_sims() {
	local p
	for p in "${sims[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${sims[@]}"; do wait "$p" 2>/dev/null; done
	sims=()
	# pcscd notices a removal at its next presence poll of the virtual
	# reader (400 ms); the lock is handed over only after that.
	sleep 1.5
}
# wait_keys N [TRIES]: until the floor client reads N keys (pcscd has seen
# them), trying every 0.1 s up to TRIES times (default 100).
wait_keys() {
	local n
	for _ in $(seq "${2:-100}"); do
		n="$(bin/pcscfloor -count 2>/dev/null 9>&-)"
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	log "pcscd did not show $1 simulated key(s) (pcscfloor read ${n:-none})"
	cat "$out"/sim*.log >&2 2>/dev/null
	return 1
}
# hf NAME ARGS...: hyperfine with the run's settings; -N runs commands
# without a shell so the shell's start-up is not counted.
hf() {
	local name="$1"; shift
	hyperfine -N --warmup 3 --runs "$runs" --style basic --export-json "$out/$name.json" "$@" 9>&- >"$out/$name.hyperfine.txt" 2>&1
}
keys_part() {
	# The lock's previous holder handed over with the readers empty; a
	# card still there belongs to a program that does not take the lock.
	if ! wait_keys 0 300; then
		failed keys-one "a card is already in a vpcd reader: another program (a simulator started by hand?) uses vpcd without holding $lock"
		return
	fi
	start_sim 0 81000001 5c-nano
	if ! wait_keys 1; then failed keys-one "the simulated key did not appear in pcscd"; stop_sims; return; fi
	# Sanity: all three see the key before they are timed.
	local n
	n="$("$bin" keys --json 9>&- | jq length)"
	[ "$n" = 1 ] || { failed keys-one "keywizard keys --json listed ${n:-nothing}, want 1 key"; stop_sims; return; }
	ykman --reader "$reader0" info >"$out/ykman-info.txt" 2>&1 9>&- || { failed keys-one "ykman info failed: $(tail -1 "$out/ykman-info.txt")"; stop_sims; return; }
	log "one key: hyperfine, $runs runs each"
	hf keys-one -n "keywizard keys --json" "$bin keys --json" \
		-n "ykman info" "ykman --reader '$reader0' info" \
		-n pcscfloor bin/pcscfloor \
		-n "pcscfloor + FIDO HID" bin/pcscfloor-fido ||
		failed keys-one "hyperfine failed: $(tail -3 "$out/keys-one.hyperfine.txt")"

	start_sim 1 81000002 5c-nfc
	if ! wait_keys 2; then failed keys-two "the second simulated key did not appear in pcscd"; stop_sims; return; fi
	n="$("$bin" keys --json 9>&- | jq length)"
	[ "$n" = 2 ] || { failed keys-two "keywizard keys --json listed ${n:-nothing}, want 2 keys"; stop_sims; return; }
	log "two keys: hyperfine, $runs runs each"
	hf keys-two -n "keywizard keys --json" "$bin keys --json" \
		-n pcscfloor bin/pcscfloor \
		-n "pcscfloor + FIDO HID" bin/pcscfloor-fido \
		-n "ykman info, both readers in turn" "sh -c 'ykman --reader \"$reader0\" info; ykman --reader \"$reader1\" info'" ||
		failed keys-two "hyperfine failed: $(tail -3 "$out/keys-two.hyperfine.txt")"
	stop_sims
}
log "keys: waiting for the vpcd lock"
exec 9>>"$lock"
flock 9
trap 'stop_sims' EXIT
keys_part
trap - EXIT
flock -u 9
exec 9>&-

# --- keys and arrival: in process, go test (each takes the lock itself) ----
# gobench FILE PART ARGS...: go test -bench with ARGS; output kept in FILE.
gobench() {
	local file="$1" part="$2"; shift 2
	log "go test -run '^\$' $*"
	if ! go test -tags "$tags" -count=1 -run '^$' "$@" >"$out/$file" 2>&1; then
		failed "$part" "go test -bench $* failed: $(grep -m3 -E 'FAIL|Error|error' "$out/$file" | tr '\n' ' ')"
	fi
}
gobench scan-keys.txt scan-keys -bench 'KeysOne|KeysTwo|MinimalClient' -benchtime 20x -count 3 ./device/scan/
gobench scan-arrival.txt scan-arrival -bench 'ArrivalToEvent|ArrivalMinimalWaiter' -benchtime 20x -count 3 ./device/scan/
gobench scan-idle.txt scan-idle -bench 'WatchIdle' -benchtime 10x -count 3 ./device/scan/
# The reader-list watcher (no PnP reader, as on macOS) on the macOS-like
# layer: arrival to event (the "listing" arrivals each wait 4 s first, so
# 10 per run), and 60 s of idling for each of no watcher, the PnP watcher and
# the listing watcher, in six turns of 10 s.
gobench scan-readerlist-arrival.txt scan-readerlist-arrival -bench 'ReaderListArrival' -benchtime 10x -count 3 ./device/scan/
gobench scan-readerlist-idle.txt scan-readerlist-idle -bench 'ReaderListIdle' -benchtime 6x -count 1 ./device/scan/

# --- gui -----------------------------------------------------------------
# keywizard-gui --simulate (the window's own executable, as a desktop
# launcher starts it; `keywizard --simulate` execs it) plugs its keys into
# vpcd and takes the vpcd lock itself (so it is not wrapped in flock here:
# that would deadlock it). The binaries built by `make build` are passed so
# guibench does not rebuild them.
if [ -x scripts/guibench.sh ]; then
	log "gui: scripts/guibench.sh -screen -n $gui_runs"
	if ! TAGS="$tags" scripts/guibench.sh -screen -n "$gui_runs" -- "$bin-gui" --simulate >"$out/gui.md" 2>"$out/gui.log"; then
		rm -f "$out/gui.md"
		failed gui "scripts/guibench.sh failed: $(tail -3 "$out/gui.log" | tr '\n' ' ')"
	fi
else
	failed gui "scripts/guibench.sh is missing"
fi

# --- effort and simulation start ------------------------------------------
# The clicks and keystrokes from Welcome to a sent report (two keys, through
# the window, fakes: no vpcd), and 20 consecutive --simulate starts under
# Xvfb (scripts/simstart.sh; it takes the vpcd lock through the app).
log "clicks: go test -run TestClicksToReport ./ui/"
if ! go test -tags "$tags" -count=1 -run '^TestClicksToReport$' ./ui/ -args -clicks "$PWD/$out/clicks.md" >"$out/clicks.log" 2>&1; then
	failed clicks "TestClicksToReport failed: $(grep -m3 -E 'FAIL|Error|error|over the budget' "$out/clicks.log" | tr '\n' ' ')"
fi
log "simstart: scripts/simstart.sh -n 20"
if ! TAGS="$tags" scripts/simstart.sh -n 20 >"$out/simstart.txt" 2>"$out/simstart.log"; then
	log "simstart: not every start reached the first screen (see $out/simstart.txt)"
fi

# --- tracker ---------------------------------------------------------------
if [ -z "${KEYWIZARD_TEST_POSTGRES:-}" ]; then
	log "KEYWIZARD_TEST_POSTGRES is not set: the tracker's PostgreSQL numbers are skipped by its benchmarks (make bench sets it)"
fi
gobench tracker-server.txt tracker-server -bench 'Ingest|Dashboard' -benchtime 3s ./tracker/server
gobench tracker-store.txt tracker-store -bench SubmitReport -benchtime 2s ./tracker/store
gobench tracker-noisy.txt tracker-noisy -bench NoisyNeighbour -benchtime 1x ./tracker/server

{
	echo "- Load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- scripts/bench.sh took $((($(date +%s) - start + 30) / 60)) min (including waits for the vpcd lock)"
} >>"$out/machine.md"
bin/benchreport -dir "$out" -doc "$doc"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
	exit "$rc"
fi
log "wrote $doc (raw results in $out/)"
[ "$rc" -eq 3 ] && status=3
exit "$status"
