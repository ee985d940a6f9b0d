package emulator

import "os"

// Internals that the external tests (package emulator_test) use.

// ValidationError is one entry of a 422 body.
type ValidationError = validationError

// MaxBody is the largest request body the emulator reads.
const MaxBody = maxBody
const MaxTimeZoneLen = maxTimeZoneLen

// SetStateByteLimit lowers MaxStateBytes for a test.
func SetStateByteLimit(n int64) (restore func()) {
	old := stateByteLimit
	stateByteLimit = n
	return func() { stateByteLimit = old }
}

// SetCompactSlack lowers how far the state log grows before a new snapshot.
func SetCompactSlack(n int64) (restore func()) {
	old := compactSlack
	compactSlack = n
	return func() { compactSlack = old }
}

// SwapLog puts f in place of the state log's file (a read-only one makes
// writes fail) and returns the file it replaced.
func (d *Dir) SwapLog(f *os.File) (old *os.File) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old, d.log = d.log, f
	return old
}
