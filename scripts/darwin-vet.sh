#!/usr/bin/env bash
# darwin-vet.sh vets for macOS, without cgo, every package (with its tests)
# that builds there without cgo: the pure-Go packages and the !cgo stubs of
# the PC/SC, piv-go and libfido2 adapters. Fyne's widgets need cgo on macOS
# (internal/widget's scroller behaviour), so packages that pull them in are
# built for macOS only on a Mac, with cgo; they are listed, not hidden.
set -euo pipefail
export CGO_ENABLED=0 GOOS=darwin GOARCH=arm64
tags="${TAGS:-migrated_fynedo,no_emoji}"
vet=() skip=()
for p in $(go list -e -tags "$tags" -f '{{if and .GoFiles (ne .Name "main")}}{{.ImportPath}}{{end}}' ./...); do
	# The dependency list is read in full before searching it: with
	# pipefail, grep -q exiting at the first match could SIGPIPE go list and
	# turn a match into a miss (CI once vetted ui that way and failed).
	deps="$(go list -e -deps -test -tags "$tags" "$p")"
	if grep -qx 'fyne.io/fyne/v2/internal/widget' <<<"$deps"; then
		skip+=("$p")
	else
		vet+=("$p")
	fi
done
echo "darwin-vet: vetting ${#vet[@]} packages for darwin/arm64 without cgo; ${#skip[@]} use Fyne widgets (cgo on macOS): ${skip[*]##*/keywizard/}"
go vet -tags "$tags" "${vet[@]}"
