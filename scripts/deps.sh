#!/usr/bin/env bash
# deps.sh installs the system packages keywizard needs, only those missing.
#   scripts/deps.sh run    what building and running the app needs
#   scripts/deps.sh test   plus what the tests need (pcscd, vpcd, ykman, Xvfb, ...)
# Debian/Ubuntu use apt-get; macOS uses Homebrew. Re-running is cheap: it checks first.
set -euo pipefail
what="${1:-run}"

# vsmartcard-vpcd is in the run set too: `keywizard --simulate` plugs its
# simulated keys into pcscd through it.
debian_run=(gcc pkg-config libgl1-mesa-dev xorg-dev libxkbcommon-dev libpcsclite-dev pcscd libfido2-dev vsmartcard-vpcd)
debian_test=(yubikey-manager fido2-tools xvfb x11-apps imagemagick chromium postgresql mingw-w64 procps hyperfine jq xz-utils make)

missing_debian() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

case "$(uname -s)" in
Linux)
	if ! command -v apt-get >/dev/null; then
		echo "deps: only Debian/Ubuntu (apt-get) are automated; install: ${debian_run[*]}" >&2
		exit 1
	fi
	pkgs=("${debian_run[@]}")
	[ "$what" = test ] && pkgs+=("${debian_test[@]}")
	mapfile -t need < <(missing_debian "${pkgs[@]}")
	if [ "${#need[@]}" -gt 0 ]; then
		sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		echo "deps: installing ${need[*]}"
		$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
	;;
Darwin)
	command -v brew >/dev/null || { echo "deps: install Homebrew first (https://brew.sh)" >&2; exit 1; }
	for p in libfido2 pkg-config; do brew list "$p" >/dev/null 2>&1 || brew install "$p"; done
	[ "$what" = test ] && { brew list ykman >/dev/null 2>&1 || brew install ykman; }
	;;
*)
	echo "deps: unsupported system $(uname -s)" >&2
	exit 1
	;;
esac
