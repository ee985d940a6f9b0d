package emulator

// Internals that the external tests (package emulator_test) use.
var IsUUID = isUUID

// ValidationError is one entry of a 422 body.
type ValidationError = validationError

// MaxBody is the largest request body the emulator reads.
const MaxBody = maxBody
const MaxTimeZoneLen = maxTimeZoneLen
