// Package ui is keywizard's Fyne interface: one window with the wizard's
// steps listed on the side (done, current, to do, not applicable, needs
// attention) and the current step in the main area, one primary action per
// screen.
//
// The UI keeps no wizard state of its own: it renders the immutable
// snapshots steps.Wizard publishes and calls the wizard's methods; errors are
// turned into messages that say what to do next with errors.Is and errors.As
// on the typed errors of packages device and steps (never by matching text).
// It implements steps.Prompter with dialogs: PIN entry showing the key and
// the retries left, confirmations naming a key's serial and model, and a
// "touch your key" notice while a key waits for a touch.
//
// The package never imports fyne.io/fyne/v2/app (docs/design.md §2.3): the
// caller creates the app and window and passes them to New, so tests run it
// on Fyne's headless test driver. Updates from other goroutines go through
// fyne.Do (Fyne 2.6 threading, docs/design.md §2.4). Nothing animates or polls
// while the person reads: the window repaints only when a snapshot arrives.
package ui
