//go:build cgo && linux

package main

import "context"

// fidoFloor is set by fido.go when built with -tags fido.
var fidoFloor func(ctx context.Context) error
