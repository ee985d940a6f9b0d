// Package storetest holds the contracts of the store interfaces that
// vitalsync's packages declare, as tests any implementation can run: every
// implementation (adapters/store/sqlite, adapters/store/memory) calls the same
// function from its own tests, so that they agree in every case a caller
// relies on, errors included.
//
//   - DeviceStore checks a vitalsdk.Store: round trip of every field,
//     not found, overwrite, delete, copies in and out, invalid states
//     refused with vitalsdk.ErrInvalidState, a done context, and
//     concurrent saves that never tear a state.
//   - UserMap checks an issuer.UserStore with its history (UserMapStore):
//     lookups, issuer.ErrMappingExists returning the existing mapping,
//     MarkUserDeleted on an inactive mapping (issuer.ErrMappingInactive),
//     history order, issuer.ErrInvalidMapping, a done context, and
//     concurrent first PutUser calls that leave exactly one mapping.
//   - ReportRecords checks a store's audit records (EachReportRecord):
//     each report once, joined with its app user's active mapping, the
//     fields in audit order, fn's error and a done context.
//
// Each contract takes an open function that returns a new, empty store for
// the test it is given (closing it through t.Cleanup if needed).
//
// Two of UserMap's checks serve a store's own tests too: RacePutUser
// races first puts through several handles on one store (processes,
// pools), and RequireUserMapFails holds that every method fails with a
// given error (a done context, a closed store).
package storetest
