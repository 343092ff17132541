#!/usr/bin/env bash
# pcscd.sh makes sure pcscd is running with vsmartcard's vpcd reader loaded
# ("Virtual PCD 00 00" on TCP 35963, "Virtual PCD 00 01" on 35964), so the
# simulator can attach keys as cards. Safe to run again: it starts pcscd only
# when nothing answers on its socket.
set -euo pipefail
sock=/run/pcscd/pcscd.comm
if [ "$(uname -s)" != Linux ]; then
	echo "pcscd.sh: the PC/SC simulator tests run on Linux (pcsc-lite + vpcd)" >&2
	exit 1
fi
if [ ! -f /etc/reader.conf.d/vpcd ]; then
	echo "pcscd.sh: vsmartcard-vpcd is not installed; run scripts/deps.sh test" >&2
	exit 1
fi
# vpcd listening on 35963 (0x8C7B), read from the kernel's table (state 0A =
# LISTEN): connecting to it would insert a card.
listening() { awk '$4 == "0A" && $2 ~ /:8C7B$/ {found=1} END {exit !found}' /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
running() { pgrep -x pcscd >/dev/null && [ -S "$sock" ] && listening; }
if running; then
	exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
# A pcscd without the vpcd listener (started before vpcd was installed) is
# replaced; with systemd, socket activation would start one lazily, so start
# it directly instead.
$sudo pkill -x pcscd 2>/dev/null || true
for _ in $(seq 50); do pgrep -x pcscd >/dev/null || break; sleep 0.1; done
$sudo mkdir -p /run/pcscd
$sudo rm -f "$sock"
$sudo /usr/sbin/pcscd
for _ in $(seq 100); do
	running && exit 0
	sleep 0.1
done
echo "pcscd.sh: pcscd did not come up with vpcd listening on 35963" >&2
exit 1
