// Package memory keeps vitalsync's stores in process memory: the SDK's
// device state (vitalsdk.Store) and the issuer's user map
// (issuer.UserStore); and it crashes processes, through wrappers of the
// device store and of the reconcile journal (Crash). It is for simulations
// and unit tests: no cgo, no files, no writer connection shared by every
// installation.
//
// # Using the stores
//
//  1. Create a store with NewDeviceStore or NewUserMap (pass the world's
//     clock to NewUserMap; a zero UserMap uses the wall clock, and zero
//     values are empty stores) and share it between goroutines: every
//     method is safe for concurrent use.
//  2. A store lives as long as the value: a "relaunch" is a new
//     vitalsdk.Client (or issuer.Handler) on the same store, exactly as on
//     SQLite.
//  3. To model a process that dies, wrap its device store and its
//     reconcile journal (either may be SQLite's) with one Crash
//     (CrashAfter(n).Store, .Journal): after n writes, counted across both,
//     every call fails with ErrCrashed and changes nothing. Relaunch on the
//     stores they wrap.
//
// # Semantics
//
// The stores behave as adapters/store/sqlite does, errors included, and
// adapters/store/storetest checks both against the same contract: whole-state
// saves and deletes, deep copies in and out (a caller's later edits never
// reach the store), times in UTC without monotonic readings, states that
// fail vitalsdk.DeviceState.Validate refused with ErrInvalidState,
// issuer.ErrMappingExists with the existing mapping, issuer.ErrMappingInactive,
// issuer.ErrInvalidMapping, and ctx.Err() for a done context with nothing
// changed. What SQLite adds and memory does not: durability, sealing of
// secrets at rest (a process's memory holds them in the clear, as it does
// while SQLite's client runs), and its own sentinels (sqlite.ErrInvalid,
// sqlite.ErrNotFound, sqlite.ErrClosed).
package memory
