#!/usr/bin/env bash
# seed.sh DIR FUZZNAME HEX... writes committed seed-corpus entries for a Go
# fuzz test taking one []byte, in go's "go test fuzz v1" format:
#   scripts/seed.sh device/tlv FuzzParse 0204 00AB579B
set -euo pipefail
dir="$1/testdata/fuzz/$2"; shift 2
mkdir -p "$dir"
for hex in "$@"; do
	lit=$(printf '%s' "$hex" | sed 's/../\\x&/g')
	name=$(printf '%s' "$hex" | sha256sum | cut -c1-16)
	printf 'go test fuzz v1\n[]byte("%s")\n' "$lit" >"$dir/$name"
done
