// Package simulations runs a deterministic fleet of app installations
// through failure paths and compares reconcile strategies on it: vitalsync's
// engine against what apps do without it. Every installation runs the real
// SDK core (adapters/vitalsdk) on its profile and its launch task
// (adapters/installation) against the real issuer and emulator handlers, in
// process, on virtual time; invariants are checked after every launch, and a
// failure shrinks to a short trace that replays exactly.
//
// # Running it
//
//  1. Fill a Config: the seed, the fleet's size, the fault classes the seed
//     may draw from (Faults, ParseFaults), the strategies (Strategies,
//     ParseStrategies) and the profiles (ParseProfiles).
//  2. Call Run. It returns a Report: per strategy the share of installations
//     consistent at the end, launches and virtual seconds to converge
//     (p50/p99), wrong-user seconds (and the part of them that followed a
//     crashed launch) and data-gap seconds, needless sign-outs, token
//     mints per 1,000 launches, network calls per launch, 429s received and
//     the invariants broken; and the coverage of fault and discrepancy
//     classes, naming what never happened. WriteSVG draws its series.
//  3. For a violation, take its installation alone (Install), shrink its
//     schedule (Shrink), run it (RunSolo) and write its trace (WriteTrace).
//     Replay checks a trace line for line. `vitalsync simulate` does all of
//     this and exits 1 when the engine breaks an invariant.
//
// # The world
//
// One seed decides everything. It draws the swarm knobs (which fault classes
// are on, at which rates, when the herds strike); each installation draws
// its setup (profile, SQLite or memory stores, an earlier API-key build) and
// its schedule (launch times, the app user's sign-ins, sign-outs, switches
// and SDK upgrades, the faults) from streams derived from (seed,
// installation, purpose), and its world's randomness (the emulator's user
// IDs and tokens, the runner's backoff jitter) likewise. Every installation
// has a world of its own: a virtual clock, an emulator, an issuer on an
// in-memory user map, and a synchronous in-process transport that serves
// each request in the caller's goroutine. Run is a single-goroutine
// discrete-event loop over the installations' next launches, ordered by
// (virtual time, installation). So an installation replays alone exactly as
// it ran in its fleet, the same seed and flags give byte-identical reports,
// and every strategy meets the same schedules and faults.
//
// A launch step: the clock moves to the step's time; the app's user acts;
// the faults between launches strike (deletion of the Vital user, refresh
// token revocation, access-token expiry, reinstall, a herd), followed by
// the app's data sync (AccessToken, or a forced refresh after the backend
// refused the upload), which on the engine's app hands an SDK error to
// reconcile.RecordSDKError; then a new process opens the device's stores
// and runs the strategy, with the step's network faults armed (each strikes
// one request of a launch, and waits for a later launch if this one sends
// none) and its crash point armed (the process dies after its k-th write
// across the device store and the journal, adapters/memory's Crash). The
// world then judges the device as a relaunched SDK sees it, against the
// backend's truth.
//
// # Invariants (the Violation kinds)
//
//   - wrong-user: after a launch that ran with the network up (deferred by
//     backoff or not), the SDK holds a session of a Vital user that is not
//     the app user's (or any while the app is signed out).
//   - needless-sign-out: a launch tore down a session that already agreed.
//   - api-key-session: an API-key session is left although policy forbids
//     it, after a launch with the network up that a backoff did not defer
//     (the migration needs the network; signing out instead would only
//     trade the session for a data gap).
//   - journal-disagrees, unplanned-action, diverged, no-convergence (the
//     engine): the journal's state is the SDK's, the runner applied only
//     what its plans said (Outcome.CheckApplied), the SDK followed its
//     state machine, a launch converged within reconcile.MaxPasses.
//   - not-live: once faults stop (TailLaunches quiet launches, 2 hours
//     apart and each after a data sync), the installation is consistent.
//
// Only the engine's violations are failures; the other strategies' are the
// findings the simulations exist to show. A switch deferred by backoff no
// longer keeps the previous user (findings_test.go replays the trace that
// showed it).
//
// # Limitations
//
//   - Crashes are counted in writes, not in time, and a crash point drawn for
//     a launch that writes nothing waits for the next launch that writes.
//     The engine writes only when it acts, so its crashes land on its
//     switches and sign-outs; and its write-ahead journal entry is one more
//     write before the SDK's sign-out is durable (an instant of real time,
//     a whole crash point here). Both weigh on its wrong-user seconds, which
//     is why the report gives the part after a crash apart: at seed 1
//     (1,000 installations × 100 launches) it is 92% of the engine's, the
//     rest being launches before the first unlock. With each crash striking
//     only its own launch (measured once, not the model) the engine's
//     wrong-user seconds fall from 2.7 M to 0.45 M and the docs' recipe's
//     from 1.1 M to 0.02 M: the engine's rest is the locked keychain
//     (0.21 M, where it may not act) and the crash point before a sign-out
//     (0.24 M).
//   - wrong-user is not counted while a backoff defers a launch whose SDK
//     session the journal never saw started (the iOS keychain keeps it
//     through a reinstall; a crash came before the journal's first write):
//     until the token source names the app user's Vital user the engine
//     cannot tell that session from the user's own, and keeps it rather
//     than sign out what may be right. The tail still requires agreement.
//   - The simulations sign Sign-In Tokens with a fixed 512-bit RSA key
//     (SigningKeyBits) where the binary allows it (GODEBUG rsa1024min=0, set
//     by this package's tests), else a fixed 1,024-bit key (the vitalsync
//     command, which keeps Go's minimum for everything it serves): RSA-2048 signing costs about a millisecond per mint and
//     would dominate a run. The emulator's own default stays RS256 with a
//     2,048-bit key.
//   - 5xx and 429 answers, lost requests and responses, and timeouts are
//     made by the world's transport in front of the real handlers (in the
//     emulator's error shape), so they hit the issuer as well as the
//     Junction hosts. The issuer's own calls to the team API are not
//     faulted.
//   - Each installation has its own emulator and issuer, so the herds are
//     simultaneous events in every world rather than load on one server: a
//     release-day wave is an SDK upgrade and a 429 with a long Retry-After
//     on each installation's first request after it.
//   - Two launch tasks in one process run one after the other on the same
//     SDK client (the runner's single-flight joins truly concurrent calls,
//     which reconcile's own tests cover).
//   - The identify strategy mints a token only when the SDK would call its
//     credentials callback (it reads the stored external user ID, because
//     the Go core takes credentials as a value); on iOS ≤1.3, which has no
//     identify, it is the docs' recipe.
//   - A locked keychain is not modelled.
package simulations
