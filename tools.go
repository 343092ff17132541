// This file pins the project's chosen dependencies in go.mod while the packages
// that use them are written; it is never built (tag "tools").

//go:build tools

package tools

import (
	_ "fyne.io/fyne/v2"
	_ "github.com/go-piv/piv-go/v2/piv"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/keys-pub/go-libfido2"
	_ "github.com/pkg/browser"
	_ "github.com/spf13/cobra"
	_ "github.com/zalando/go-keyring"
	_ "modernc.org/sqlite"
)
