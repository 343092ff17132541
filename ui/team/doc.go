// Package team is the manager's view in the app: a table of the people
// reporting to them (directly or not), each with both YubiKeys (everyday
// and backup) against every required service, OTP and genuine-key status,
// and the keys reported lost, with a Refresh action and the time of the
// last update.
//
// It renders a [tracker.TeamView], the same view-model the tracker's web
// dashboard renders, so the app and the dashboard agree row for row; the
// rows arrive already ordered (overdue people first, then in progress,
// then complete; tracker.BuildTeamView). Where the view comes from is a
// [Source], a one-method interface: internal/trackerlink adapts the tracker
// client to it, tests use a fake.
//
// Like package ui it never imports fyne.io/fyne/v2/app (docs/design.md
// §2.3) and touches widgets from other goroutines only through fyne.Do
// (docs/design.md §2.4). It fetches only when asked (Start, Refresh): nothing
// polls while the manager reads.
package team
