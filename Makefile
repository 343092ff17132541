# keywizard. Two commands on a fresh Debian/Ubuntu or macOS machine:
#   make run    install what is missing, build, start the app
#   make test   install what the tests need, start pcscd (+ vpcd) and
#               PostgreSQL, run every check and test
# Other targets: build, bench, screenshots, package, lint, cross, fuzz, clean.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
export LANG := en_US.UTF-8
export CGO_ENABLED := 1

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Build tags for everything built here (scripts read $TAGS too):
#   migrated_fynedo  every off-main-goroutine widget update goes through fyne.Do
#   no_emoji         leave out Fyne's 4 MB colour-emoji font: keywizard's text
#                    has no emoji, and Fyne parsed the font again for every text
#                    style, ~15 MB of the window's memory (BENCHMARKS.md);
#                    an emoji typed into a field falls back to a system font
TAGS := migrated_fynedo,no_emoji
export TAGS
LDFLAGS := -X github.com/keywizard/keywizard/internal/version.value=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN := bin/keywizard

.PHONY: run build test check lint vet fmt-check mod-check layout-check cross test-go bench screenshots package fuzz clean deps deps-test go-check

go-check:
	@command -v go >/dev/null || { echo "Go 1.26 or newer is needed: https://go.dev/dl/ (Debian's golang package is too old)"; exit 1; }

deps: go-check
	@scripts/deps.sh run

deps-test: go-check
	@scripts/deps.sh test

# build makes the two executables that are installed side by side: keywizard
# (the command-line tool; with no command it runs the window) and
# keywizard-gui (the window), so the command-line tool does not link Fyne.
build: deps
	go build -tags $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/keywizard ./cmd/keywizard-gui

run: build
	@if [ "$$(uname -s)" = Linux ]; then scripts/pcscd.sh; fi
	./$(BIN)

# test runs every check CI runs. Services the tests use are started by the
# project's scripts, never by hand.
test: deps-test
	scripts/pcscd.sh
	$(MAKE) --no-print-directory check
	pg="$$(scripts/postgres.sh)" && export KEYWIZARD_TEST_POSTGRES="$$pg" && go test -tags $(TAGS) -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory cross
	scripts/package-check.sh

# check is the gate that needs no devices or services: a tidy go.mod,
# internal/layout's tests that hold the repository to its own rules (import
# arrows, every package named in ARCHITECTURE.md, comments citing docs/ or
# upstream files only), formatting, vet and staticcheck; cheapest first.
check: mod-check layout-check fmt-check vet lint

mod-check:
	@go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

layout-check:
	go test -tags $(TAGS) -count=1 ./internal/layout

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet -tags $(TAGS) ./...

lint:
	go run $(STATICCHECK) -tags $(TAGS) ./...

# cross checks the cross-platform claim: the whole app for Windows with
# Debian's mingw, and the packages that build without cgo vetted for macOS.
cross:
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc go build -tags $(TAGS) -o /dev/null ./cmd/keywizard
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc go build -tags $(TAGS) -o /dev/null ./cmd/keywizard-gui
	TAGS=$(TAGS) scripts/darwin-vet.sh

bench: deps-test build
	scripts/pcscd.sh
	pg="$$(scripts/postgres.sh)" && export KEYWIZARD_TEST_POSTGRES="$$pg" && scripts/bench.sh

screenshots: deps-test
	scripts/screenshots.sh

package: deps
	scripts/package.sh

fuzz:
	@for p in $$(go list ./...); do for f in $$(go test -list 'Fuzz.*' $$p 2>/dev/null | grep ^Fuzz); do go test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$p || exit 1; done; done

clean:
	rm -rf bin dist screenshots
