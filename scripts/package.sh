#!/usr/bin/env bash
# package.sh builds an installable keywizard package for the platform it runs
# on, into dist/ (`make package`):
#   Linux:  dist/keywizard.tar.xz  usr/local/{bin,share/applications,share/pixmaps}
#           plus a Makefile: tar -xJf keywizard.tar.xz && sudo make install
#   macOS:  dist/keywizard.app
# It builds the binary itself (cgo: libpcsclite, libfido2, GL) and hands it to
# `fyne package --executable` from the repository root, so FyneApp.toml there
# gives the name, ID and icon (style.md §2.5 "Working A"). fyne package bumps
# Details.Build and rewrites FyneApp.toml; the file is restored afterwards so a
# local package never dirties the tree (bump Build deliberately for releases).
#   scripts/package.sh [MAIN_PACKAGE]   (default ./cmd/keywizard)
set -euo pipefail
cd "$(dirname "$0")/.."
main="${1:-./cmd/keywizard}"
fyne=(go run fyne.io/tools/cmd/fyne@v1.7.4)
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
goos="$(go env GOOS)"

mkdir -p dist
bin="dist/keywizard"
[ "$goos" = windows ] && bin="$bin.exe"
CGO_ENABLED=1 go build -tags migrated_fynedo -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin" "$main"

saved="$(mktemp)"
cp FyneApp.toml "$saved"
trap 'cp "$saved" FyneApp.toml; rm -f "$saved"' EXIT

case "$goos" in
linux | freebsd | netbsd | openbsd)
	"${fyne[@]}" package --target "$goos" --executable "$bin"
	mv -f keywizard.tar.xz dist/keywizard.tar.xz
	out=dist/keywizard.tar.xz
	;;
darwin)
	"${fyne[@]}" package --target darwin --executable "$bin"
	rm -rf dist/keywizard.app
	mv keywizard.app dist/
	out=dist/keywizard.app
	;;
windows)
	# fyne package embeds the icon and version resource into the .exe.
	"${fyne[@]}" package --target windows --executable "$bin"
	out="$bin"
	;;
*)
	echo "package: no package format for $goos" >&2
	exit 1
	;;
esac
echo "package: $out ($version)"
