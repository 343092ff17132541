// Package tracker holds the onboarding tracker's shared vocabulary: the API
// types exchanged between the wizard, the server and the dashboard, their
// strict JSON decoding and field validation, and the team view-model that the
// dashboard, the JSON API and the app's team view all render.
//
// It depends on the standard library only, so the wizard can import it without
// pulling in a database driver.
//
// # Records
//
// A [Person] owns up to two active [Key]s (roles [RoleEveryday] and
// [RoleBackup]). Each key collects [Item]s, one per service, with an
// [Evidence] level saying how sure the wizard was. A person is complete when
// both active keys carry every required service and OTP is disabled (the
// service [ServiceOTP]).
//
// # Errors
//
// Decoders return a *[FieldError] naming the offending JSON field, which the
// server sends back verbatim in its 400 responses.
package tracker
