// Package steps is keywizard's enrollment wizard as a state machine: it walks
// a new hire from "who are you" through giving their two YubiKeys a role, a
// FIDO2 PIN, registering both keys with every service of the [catalogue],
// macOS smart-card login, disabling OTP and reporting to the tracker, to a
// summary they can keep.
//
// # Frontends
//
// A [Wizard] owns the state. Frontends (the Fyne ui, tests) subscribe with
// [Wizard.OnChange] and receive immutable [Snapshot]s, tailscale-Notify
// style, and act by calling the wizard's methods ([Wizard.Start],
// [Wizard.AssignRoles], [Wizard.SetPIN], [Wizard.OpenService],
// [Wizard.Verify], [Wizard.Attest], [Wizard.ProvisionMac],
// [Wizard.DisableOTP], [Wizard.Report], [Wizard.Redo], [Wizard.GoTo],
// [Wizard.ReportLost] and the lost-key checklist's [Wizard.UnpairLost],
// [Wizard.OpenRemoval], [Wizard.ConfirmRemoved]). The
// wizard asks the person through a [Prompter] (PINs, confirmations, "touch
// your key"), like age's ClientUI: the logic asks, the frontend answers.
// Actions run one at a time and block while the Prompter waits for the
// person, so a frontend calls them off its UI goroutine.
//
// Everything outside — keys, browser, clock, tracker, macOS sc_auth and the
// progress file — is one of the small interfaces declared here ([Keys],
// [Browser], [Clock], [Reporter], [LossReporter], [SmartCardLogin], [Store]); cmd/keywizard-gui
// wires the real ones and package stepstest provides fakes.
//
// # Steps
//
// One table (stepTable) defines every step: its ID, [Kind], title, whether
// it is done on each key, its prerequisite, how it is reported ([ReportAs]),
// how its status and what is left are derived, and the [Action] that
// finishes it ([Step].Action). The step list is derived from the table, the
// catalogue, the operating system and the keys: welcome (who you are; the deadline is the start date + 30 days and
// is in every snapshot), keys (detect, roles everyday/backup, labels), FIDO2
// PIN, one step per catalogue service with both keys inside it (services
// keywizard sets up itself, macOS smart-card login, come after the browser
// ones), OTP, report, summary. A service that does not apply here (macOS
// login off a Mac) is [StatusNotApplicable] with the reason. With one key
// only, everything proceeds for it and the other role's part waits.
//
// Once a key is reported lost ([Wizard.ReportLost]), the lost-key step
// ([KindLost]) follows the keys: one removal item per catalogue service
// (docs/services.md §9), macOS pairing undone and read back, the rest
// confirmed by the person. The key's role is free for a replacement, whose
// per-key steps run as a new key's; the other key keeps its results.
//
// # Persistence
//
// Every change is saved through the [Store] ([FileStore]: JSON in the user
// config dir, written atomically, schema-versioned, no secrets), so a person
// can stop and resume days later, and every step can be redone
// ([Wizard.Redo]).
//
// # Evidence
//
// Each key × step result carries an [Evidence] whose [Level] never claims
// more than was checked: [VerifiedOnKey] (read back from the key: a passkey
// for the service's RP ID, a PIN that is set), [VerifiedBySystem] (the key's
// management application read back OTP as off; macOS sc_auth lists the
// pairing) or [SelfAttested] (the person says so).
//
// # Errors
//
// Methods return errors to branch on with errors.Is and errors.As, never by
// text: device errors pass through wrapped ([device.ErrRemoved],
// [device.ErrBlocked], *[device.PINError] with retries left), plus this
// package's own (*[WrongKeyError], *[BrowserError], *[NotVerifiedError],
// *[NotApplicableError], [ErrReportQueued], [ErrCancelled], ...). A failed
// action never loses saved progress; the step shows what to do next.
//
// # Secrets
//
// PINs, PUKs and management keys pass through memory only: they are not in
// the progress file, the report, snapshots, or error messages.
package steps
