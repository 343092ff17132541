#!/usr/bin/env bash
# darwin-vet.sh vets for macOS, without cgo, every package (with its tests,
# main packages included) that builds there without cgo: the pure-Go
# packages and the !cgo stubs of the PC/SC, piv-go and libfido2 adapters; a
# package whose tests alone need Fyne's widgets is compiled without them. Fyne's widgets need cgo on macOS
# (internal/widget's scroller behaviour), so packages that pull them in are
# built for macOS only on a Mac, with cgo; they are listed, not hidden.
set -euo pipefail
export CGO_ENABLED=0 GOOS=darwin GOARCH=arm64
tags="${TAGS:-migrated_fynedo,no_emoji}"
vet=() build=() skip=()
for p in $(go list -e -tags "$tags" -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' ./...); do
	# The dependency lists are read in full before searching them: with
	# pipefail, grep -q exiting at the first match could SIGPIPE go list and
	# turn a match into a miss (CI once vetted ui that way and failed).
	deps="$(go list -e -deps -tags "$tags" "$p")"
	testdeps="$(go list -e -deps -test -tags "$tags" "$p")"
	if grep -qx 'fyne.io/fyne/v2/internal/widget' <<<"$deps"; then
		skip+=("$p")
	elif grep -qx 'fyne.io/fyne/v2/internal/widget' <<<"$testdeps"; then
		# Only its tests need Fyne's widgets (e.g. internal/trackerlink, whose
		# tests drive the team view): the package itself is still compiled
		# for macOS, without its tests.
		build+=("$p")
	else
		vet+=("$p")
	fi
done
short() { local p; for p in "$@"; do printf ' %s' "${p##*/keywizard/}"; done; }
echo "darwin-vet: vetting ${#vet[@]} packages for darwin/arm64 without cgo; compiling ${#build[@]} whose tests use Fyne widgets:$(short "${build[@]}");" \
	"${#skip[@]} use Fyne widgets (cgo on macOS, built on a Mac):$(short "${skip[@]}")"
go vet -tags "$tags" "${vet[@]}"
if [ ${#build[@]} -gt 0 ]; then
	go build -tags "$tags" -o /dev/null "${build[@]}"
fi
