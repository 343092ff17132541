#!/usr/bin/env bash
# package-check.sh checks what `make package` builds on Linux, as a person
# would use it (run by `make test`): the tarball unpacks, its Makefile
# installs both executables, the desktop entry and the icon under DESTDIR,
# the installed executables start (--version), the desktop entry starts the
# window's executable, and uninstall removes everything it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(go env GOOS)" = linux ] || { echo "package-check: checks the Linux package only" >&2; exit 0; }

scripts/package.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xJf dist/keywizard.tar.xz -C "$work"
dest="$work/root"
make -s -C "$work/keywizard" install DESTDIR="$dest" PREFIX=/usr/local >/dev/null

fail() { echo "package-check: $*" >&2; exit 1; }
for f in bin/keywizard bin/keywizard-gui share/applications/io.keywizard.app.desktop share/pixmaps/io.keywizard.app.png; do
	[ -s "$dest/usr/local/$f" ] || fail "make install did not install $f"
done
"$dest/usr/local/bin/keywizard" --version | grep -q '^keywizard version ' || fail "the installed keywizard does not start"
"$dest/usr/local/bin/keywizard-gui" --version | grep -q '^keywizard-gui version ' || fail "the installed keywizard-gui does not start"
grep -qx 'Exec=keywizard-gui' "$dest/usr/local/share/applications/io.keywizard.app.desktop" ||
	fail "the desktop entry does not start keywizard-gui"
[ "$(head -c 8 "$dest/usr/local/share/pixmaps/io.keywizard.app.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	fail "the icon is not a PNG"

make -s -C "$work/keywizard" uninstall DESTDIR="$dest" PREFIX=/usr/local >/dev/null
left="$(find "$dest" -type f)"
[ -z "$left" ] || fail "make uninstall left: $left"
echo "package-check: dist/keywizard.tar.xz installs, starts and uninstalls cleanly"
