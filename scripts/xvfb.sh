# shellcheck shell=bash
# Sourced by the scripts that open real windows (screenshots.sh,
# simstart.sh, guibench.sh). xvfb_start SIZE starts an Xvfb of that screen
# size (e.g. 1280x900) on a free display when there is no DISPLAY, exports
# DISPLAY and sets xvfb_pid for the caller's cleanup trap; with a DISPLAY it
# does nothing, so a person can watch the windows on their own screen.
xvfb_pid=""
xvfb_start() {
	[ -n "${DISPLAY:-}" ] && return 0
	# A free display number: Xvfb's socket tells whether one is taken.
	local n=99
	while [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
	Xvfb ":$n" -screen 0 "$1x24" -nolisten tcp >/dev/null 2>&1 &
	xvfb_pid=$!
	for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.05; done
	export DISPLAY=":$n"
}
