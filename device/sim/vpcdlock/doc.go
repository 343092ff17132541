// Package vpcdlock is the machine-wide lock on vsmartcard's two virtual
// readers. pcscd and vpcd are one resource for every process on the machine:
// a simulated key attached while another process's key sits in the same slot
// would take its place. Every user of the slots (tests through
// internal/testenv, `keywizard --simulate`, the benchmarks) holds the lock
// while its keys are attached.
package vpcdlock
