#!/usr/bin/env bash
# simstart.sh starts `keywizard --simulate` N times in a row (default 20)
# under Xvfb and checks that each start reaches the first wizard screen:
# "firstscreen" on standard output (ui.Options.OnFirstScreen with
# probe.ScreenFromEnv, as scripts/guibench.sh -screen waits for). Each run is
# ended with SIGTERM as soon as its screen is up and the next starts at once,
# the hardest case for vpcd: the previous keys have just been unplugged.
#   scripts/simstart.sh [-n RUNS] [-keep]
# Prints one line per start and "simstart: K/N starts reached the first
# screen"; exits 1 unless all did. Run by `make bench`; needs pcscd with
# vpcd (scripts/pcscd.sh) and Xvfb (scripts/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8
[ "${LC_ALL:-}" = C ] && export LC_ALL=en_US.UTF-8

runs=20
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs="$2"; shift 2 ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done

tags="${TAGS:-migrated_fynedo,no_emoji}"
tags="${tags// /,}"
mkdir -p bin
go build -tags "$tags" -trimpath -o bin/ ./cmd/keywizard ./cmd/keywizard-gui

work="$(mktemp -d)"
. "$(dirname "$0")/xvfb.sh"
app_pid=""
cleanup() {
	[ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null
	[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
xvfb_start 1280x900

ok=0
for i in $(seq "$runs"); do
	cfg="$work/cfg-$i"
	mkdir -p "$cfg"
	t0="$(date +%s%N)"
	XDG_CONFIG_HOME="$cfg" KEYWIZARD_BENCH_FIRSTFRAME=1 bin/keywizard --simulate >"$work/out-$i" 2>"$work/err" &
	app_pid=$!
	fs=""
	# Up to 60 s: the simulated keys wait up to 30 s for vpcd's lock when
	# another program (a test run) holds the readers.
	for _ in $(seq 1200); do
		fs="$(awk '/^firstscreen /{print $2; exit}' "$work/out-$i")"
		[ -n "$fs" ] && break
		kill -0 "$app_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$fs" ]; then
		ok=$((ok + 1))
		echo "simstart: start $i reached the first screen in $(((fs - t0) / 1000000)) ms"
	else
		state="exited"
		kill -0 "$app_pid" 2>/dev/null && state="still running after 60 s (a start-up problem on screen, or waiting)"
		echo "simstart: start $i did not reach the first screen in $((($(date +%s%N) - t0) / 1000000)) ms ($state); its stderr:"
		sed 's/^/    /' "$work/err"
	fi
	kill "$app_pid" 2>/dev/null || true
	wait "$app_pid" 2>/dev/null || true
	app_pid=""
done
echo "simstart: $ok/$runs starts reached the first screen"
[ "$ok" = "$runs" ]
