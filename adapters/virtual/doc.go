// Package virtual is a world in one process: a virtual clock, whose time
// moves only when told to, and an in-process HTTP transport that serves
// handlers by host with no sockets. The simulations run on them, the test
// kit (emulator/emulatortest) builds every test's world from them,
// and, being product code, they link no testing into a binary that uses
// them.
//
//   - [Clock]: time moves only with [Clock.Advance] and [Clock.Set];
//     [Clock.After] is a timer on it. Its Now method value is the clock of
//     every component: emulator.WithClock, issuer.Config.Now,
//     issuer.WithClientClock, vitalsdk.Options.Now, sqlite.WithClock,
//     junction.WithClock and reconcile.Config.Now. Its After is
//     emulator.WithAfter, so DelayNext waits on virtual time.
//   - [Transport]: an http.RoundTripper that serves handlers by host, in
//     process. It honours the request's context, streams the response
//     body, and turns the emulator's DropNext into [ErrConnectionDropped],
//     so every fault knob (FailNext, RateLimitNext, DelayNext, DropNext)
//     works through it. An unknown host fails with [ErrUnknownHost].
package virtual
