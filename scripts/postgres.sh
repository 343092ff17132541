#!/usr/bin/env bash
# postgres.sh starts (or reuses) a throwaway PostgreSQL cluster on loopback for
# the tracker tests and prints its URL on stdout, so a Makefile can do:
#
#   pg="$(scripts/postgres.sh)" && export KEYWIZARD_TEST_POSTGRES="$pg"
#
# (not `export X="$(...)"`: export's own status would hide a failure here)
#
# It installs Debian's postgresql only if missing, runs the cluster as the
# postgres OS user (initdb refuses to run as root) in a fixed directory under
# /tmp, trusts only 127.0.0.1, and is idempotent: a second run finds the
# running server and prints the same URL. `scripts/postgres.sh stop` stops it.
# Environment: KEYWIZARD_PG_PORT (default 55432), KEYWIZARD_PG_DIR.
set -euo pipefail

port="${KEYWIZARD_PG_PORT:-55432}"
dir="${KEYWIZARD_PG_DIR:-/tmp/keywizard-postgres-$port}"
url="postgres://postgres@127.0.0.1:$port/keywizard_test?sslmode=disable"

log() { echo "postgres.sh: $*" >&2; }

as_postgres() {
	if [ "$(id -un)" = postgres ]; then
		"$@"
	elif [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		# A non-root developer runs the cluster as themselves.
		"$@"
	fi
}

bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
	return 1
}

if ! bin="$(bindir)"; then
	if command -v apt-get >/dev/null; then
		log "installing postgresql"
		sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		# Another process may hold the dpkg lock (e.g. deps.sh); wait for it.
		$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends postgresql >/dev/null
		bin="$(bindir)"
	else
		log "install PostgreSQL (initdb, pg_ctl) first"
		exit 1
	fi
fi

if [ "${1:-}" = stop ]; then
	[ -d "$dir/data" ] && as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
	exit 0
fi

if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
	if [ ! -s "$dir/data/PG_VERSION" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
		log "initialising cluster in $dir"
		# C.UTF-8 is the one UTF-8 locale every Debian has: a fresh machine
		# may lack the LANG the Makefile sets (en_US.UTF-8, for Fyne), and
		# initdb refuses a locale that is not installed.
		LC_ALL=C.UTF-8 as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "port = $port"
			echo "unix_socket_directories = '$dir'"
			# A test cluster: durability is not the point, speed is.
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
			echo "max_connections = 200"
		} | as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
		printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_postgres tee "$dir/data/pg_hba.conf" >/dev/null
	fi
	log "starting on 127.0.0.1:$port"
	LC_ALL=C.UTF-8 as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null
fi

if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='keywizard_test'" | grep -q 1; then
	"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE keywizard_test" >/dev/null
fi
echo "$url"
