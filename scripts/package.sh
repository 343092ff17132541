#!/usr/bin/env bash
# package.sh builds an installable keywizard package for the platform it runs
# on, into dist/ (`make package`). A package holds both executables, side by
# side: keywizard-gui (the window, which desktop launchers start) and
# keywizard (the command-line tool; with no command it runs the window):
#   Linux:   dist/keywizard.tar.xz  keywizard/usr/local/{bin,share/applications,share/pixmaps}
#            plus a Makefile: tar -xJf keywizard.tar.xz && cd keywizard && sudo make install
#   macOS:   dist/keywizard.app, keywizard beside keywizard-gui in Contents/MacOS
#            (link it into PATH: ln -s /Applications/keywizard.app/Contents/MacOS/keywizard /usr/local/bin/)
#   Windows: dist/keywizard-gui.exe and dist/keywizard.exe
# It builds the binaries itself (cgo: libpcsclite, libfido2, GL) and hands the
# window to `fyne package --executable` from the repository root, so
# FyneApp.toml there gives the name, ID and icon (docs/design.md §5.2).
# fyne package bumps Details.Build and rewrites FyneApp.toml; the file is
# restored afterwards so a local package never dirties the tree (bump Build
# deliberately for releases).
set -euo pipefail
cd "$(dirname "$0")/.."
fyne=(go run fyne.io/tools/cmd/fyne@v1.7.4)
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
goos="$(go env GOOS)"
exe=""
[ "$goos" = windows ] && exe=.exe

rm -rf dist
mkdir -p dist
CGO_ENABLED=1 go build -tags "${TAGS:-migrated_fynedo,no_emoji}" -trimpath -ldflags "-s -w -X github.com/keywizard/keywizard/internal/version.value=$version" -o dist/ ./cmd/keywizard ./cmd/keywizard-gui
gui="dist/keywizard-gui$exe"
cli="dist/keywizard$exe"

saved="$(mktemp)"
work="$(mktemp -d)"
cp FyneApp.toml "$saved"
trap 'cp "$saved" FyneApp.toml; rm -rf "$saved" "$work"' EXIT

case "$goos" in
linux | freebsd | netbsd | openbsd)
	"${fyne[@]}" package --target "$goos" --executable "$gui"
	# fyne's tarball holds the window and a Makefile installing it; add the
	# command-line tool beside it, to the Makefile's install and uninstall
	# rules, and name the folder after the app.
	tar -xJf keywizard.tar.xz -C "$work"
	rm -f keywizard.tar.xz
	mv "$work/keywizard-gui" "$work/keywizard"
	install -m 0755 "$cli" "$work/keywizard/usr/local/bin/keywizard"
	mk="$work/keywizard/Makefile"
	grep -q 'usr/local/bin/$(Exec)' "$mk" || { echo "package: fyne's Makefile changed shape; update package.sh" >&2; exit 1; }
	sed -i \
		-e 's|^\(\t\)install -Dm00755 usr/local/bin/$(Exec) \(.*\)/bin/$(Exec)$|&\n\1install -Dm00755 usr/local/bin/keywizard \2/bin/keywizard|' \
		-e 's|^\(\t\)-rm \(.*\)/bin/$(Exec)$|&\n\1-rm \2/bin/keywizard|' "$mk"
	[ "$(grep -c 'bin/keywizard$' "$mk")" = 4 ] || { echo "package: could not add keywizard to fyne's Makefile" >&2; exit 1; }
	tar -cJf dist/keywizard.tar.xz -C "$work" keywizard
	rm -f "$gui" "$cli"
	out=dist/keywizard.tar.xz
	;;
darwin)
	"${fyne[@]}" package --target darwin --executable "$gui"
	app="$(ls -d ./*.app | head -1)"
	install -m 0755 "$cli" "$app/Contents/MacOS/keywizard"
	rm -rf dist/keywizard.app
	mv "$app" dist/keywizard.app
	rm -f "$gui" "$cli"
	out=dist/keywizard.app
	;;
windows)
	# fyne package embeds the icon and version resource into the window's .exe.
	"${fyne[@]}" package --target windows --executable "$gui"
	out="$gui and $cli"
	;;
*)
	echo "package: no package format for $goos" >&2
	exit 1
	;;
esac
echo "package: $out ($version)"
