#!/usr/bin/env bash
# screenshots.sh writes a PNG of every keywizard screen (each step, each error
# state, the dialogs, large and dark variants) from a real Fyne window into
# screenshots/ (gitignored). Without a DISPLAY it starts its own Xvfb.
#   scripts/screenshots.sh [-only welcome,keys]
# The screen is 1920x1200 so the "large screen" scenarios fit (Xvfb has no
# window manager to shrink them, and GL pixels off-screen are not drawn).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG="${LANG:-en_US.UTF-8}"
[ "${LANG}" = C ] && export LANG=en_US.UTF-8
scripts/deps.sh test

mkdir -p bin
go build -tags "${TAGS:-migrated_fynedo,no_emoji}" -o bin/screens ./internal/screens/cmd/screens

. "$(dirname "$0")/xvfb.sh"
cleanup() { [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true; }
trap cleanup EXIT
xvfb_start 1920x1200

rm -rf screenshots
./bin/screens -out screenshots "$@"
echo "screenshots: $(ls screenshots/*.png | wc -l) PNGs in screenshots/"
