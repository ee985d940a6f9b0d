// Package reconcile computes and applies the fewest SDK actions that bring the
// Vital Mobile SDK's sign-in state in line with the app's own user.
//
// The planner, Observation.Plan, is a pure function of one Observation: the app
// session, the SDK's status flags and current user ID, the SDK profile, what
// the reconciler persisted (the state it last observed, the last SDK error, the
// count of failures and the next attempt time), what this launch has done so
// far (its last action, the Vital user the token source named), and the time.
// It returns a Plan: ordered Actions (SignOut, SignIn, Migrate,
// Reauthenticate, Resolve), RetryAt when waiting is right, or Terminal when
// the last error has no rule left. It does no IO and reads no clock; the same
// observation always yields the same plan.
//
// The planner is the only place a decision is made. Every recovery
// (alreadySignedIn, a fresh token after invalidSignInToken, a migration that
// did not take, a Vital user the backend replaced, a needsReauthentication the
// app recorded) is one of its rules, listed in Plan's doc comment, held by a
// scenario file (testdata/plan) and by the model test's reference.
//
// The planner's promises, each held by a test:
//
//  1. Quiet: a consistent observation plans nothing, on every profile, so a
//     consistent launch costs no network call, SDK mutation or write.
//  2. Minimal: a plan is a shortest action sequence that reaches the goal in
//     the profile's model (a brute-force search over the fsm table is the
//     reference).
//  3. Idempotent: applying a successful plan and planning again yields an
//     empty plan (after at most one Resolve pass).
//  4. Safe: no plan leaves the SDK signed in as another Vital user than the
//     app's, and API-key mode is never the goal unless AllowAPIKey is set.
//  5. Convergent: with the Runner against the model SDK, any fault-free world
//     agrees within 3 passes that act, and a world with one fault of each
//     kind the rules cover within MaxPasses.
//
// # The Runner
//
// Runner is the shell around the planner, as raft's RawNode is around its
// state machine: it decides nothing and works out no fact; it reads,
// applies and records. Its loop, per launch:
//
//  1. Load the journal. An action marked in flight means the previous
//     process died mid-action: report it (Outcome.Interrupted) and go on;
//     the observation is level-based.
//  2. Observe: read the SDK's status and current user ID (no IO) and the
//     app's session, and hand them with the journal entry, the action this
//     launch applied last and the token source's last answer to Observe,
//     the pure function that builds every fact the planner reads (the
//     audit builds its observations with it too).
//  3. Plan. If the plan is empty: agreement (settle: write the journal only
//     if something changed), a deferral (write nothing), or a terminal end
//     (journal it, no retry schedule).
//  4. Apply the plan's actions in order, through the SDK call and with the
//     token each names, journaling each before ("start") and after
//     ("done"); the journal's next entry is a pure transition of the entry,
//     the action and how it ended (journal.go). An action that fails stops
//     the pass: the failure is classified (transient, terminal or
//     cancelled) and journaled with its SDK error; a transient one also
//     schedules the next attempt with capped, jittered backoff
//     (Config.Backoff). A token that carries another Vital user than the
//     action names is not applied: the pass ends, and the next plans from
//     the token source's answer. A cancellation ends the launch.
//  5. Go back to 2, at most MaxPasses times.
//
// What the runner applies is what a plan said: every pass's applied actions
// are a prefix of its plan, and only the last of them may have failed
// (Outcome.CheckApplied).
//
// # A caller's duties
//
// Runner performs them; a caller that drives the planner itself takes them
// on.
//
//  1. Run the launch task at every process start (RunAtLaunch) and move on:
//     it is single-flight, and a consistent launch costs nothing.
//  2. Give the runner an SDK whose Status and CurrentUserID do no IO, a
//     TokenSource (the app's backend), a Journal that persists one entry per
//     installation (JournalEntry.Validate says what it must refuse), the
//     app's session as a function, and the clock and randomness.
//  3. Adapters report errors in the package's vocabulary: the SDK errors are
//     SDKError values matched with errors.Is (ErrAlreadySignedIn, …), and a
//     transient failure has a Transient() bool method in its chain, with
//     RetryAfterHint() time.Duration for a server's Retry-After
//     (IsTransient). Anything else is ErrUnknown: terminal, no rule.
//  4. Between launches, record the SDK errors the app meets
//     (RecordSDKError): on iOS 1.4+ a needsReauthentication shows nowhere
//     else.
//  5. Read the Outcome: its Result, its passes, the divergence from the
//     state machine if any. A *RunError says which action failed, how, and
//     when the next attempt is due.
package reconcile
