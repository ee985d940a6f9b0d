// Package emulatortest is the test kit of this module: what every test that
// talks to the Junction emulator, the issuer or the SDK core builds its
// world from, instead of a private copy.
//
// It offers:
//
//   - [SigningKey] and [OtherKey]: fixed 2048-bit RSA keys embedded from
//     testdata/*.pem, so no test generates one (tens of milliseconds each,
//     and since Go 1.26 not repeatable from a seeded reader). [NewEmulator]
//     builds an emulator that signs with SigningKey.
//   - [Clock] and [Transport]: package virtual's virtual clock and
//     in-process HTTP transport (see there), which the simulations share;
//     the kit names them here so tests need one import.
//   - [Secrets]: the secrets a test handed out, and checks that fail the
//     test when one appears in logs, output or an error message.
//   - [LockedBuffer]: an io.Writer safe for concurrent use, the sink of a
//     test's slog output ([LockedBuffer.Logger]).
//   - [Stack]: an emulator on a Transport at [APIHost] and [AuthHost],
//     driven by one Clock, with a team API client; [Stack.Mount] puts an
//     issuer (or any handler) on the same transport.
//
// # Using it
//
// A test of a client builds a stack, points the client at its URLs with
// its HTTP client and clock, and records each token it is handed:
//
//	s := emulatortest.NewStack()
//	c := junction.NewUserClient(s.APIURL, s.JunctionOptions()...)
//	logs := &emulatortest.LockedBuffer{}
//	s.Secrets.CheckAtEnd(t, "logs", logs.String)
//	…
//	s.Secrets.Add(tok.AccessToken, tok.RefreshToken)
//	s.Clock.Advance(time.Hour) // never s.Emulator.Advance: one time source
//
// The duties are few: move time only through the Clock; add every secret a
// step hands out to Secrets before the step that could leak it; keep at
// least one test per client over real HTTP on loopback (httptest.Server),
// since Transport skips net/http's wire (chunking, keep-alive, hijacking).
//
// # Import cycles
//
// This package imports emulator and junction. Tests inside those two
// packages that use it must be external test packages (package
// emulator_test, junction_test); the other packages' tests may import it
// from any test file.
package emulatortest
