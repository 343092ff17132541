#!/usr/bin/env bash
# chromium.sh makes sure Debian's chromium is installed for the tracker's
# dashboard browser test and prints its path. It waits for the dpkg lock
# rather than failing when another apt run (deps.sh) holds it.
set -euo pipefail

for p in /usr/bin/chromium /usr/bin/chromium-browser; do
	[ -x "$p" ] && { echo "$p"; exit 0; }
done
if ! command -v apt-get >/dev/null; then
	echo "chromium.sh: install chromium and set KEYWIZARD_CHROMIUM to its path" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "chromium.sh: installing chromium" >&2
$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends chromium >/dev/null
echo /usr/bin/chromium
