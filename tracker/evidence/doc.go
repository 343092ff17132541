// Package evidence holds what an auditor needs to check the tracker's
// records offline, with no database: the signature envelope of exports and
// the hash chain of the audit log. It depends on no other tracker package,
// so `keywizard tracker verify` and `tracker audit verify` stay small and
// their rules are in one place (docs/tracker-evidence.md describes both
// formats byte by byte).
//
// Signatures are minisign signatures (aead.dev/minisign, the format of
// jedisct1's minisign tool: Ed25519 over the exact bytes, plus a signed
// "trusted comment"), embedded as the last field of the file, so an export
// is one file that stays a valid CSV-with-comments or JSON document.
//
// The audit chain hashes each entry's fixed fields and a salted commitment
// to its free text (reason and detail), and the hash of the entry before.
// Erasing a person blanks the free text of entries about them and destroys
// the salt, which keeps the chain verifiable while leaving nothing from
// which the text could be recovered or confirmed by guessing.
package evidence
