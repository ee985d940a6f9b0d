// Package reconcile computes and applies the fewest SDK actions that bring the
// Vital Mobile SDK's sign-in state in line with the app's own user.
//
// The planner, Observation.Plan, is a pure function of one Observation: the app
// session, the SDK's status flags and current user ID, the SDK profile, the
// state and backoff the reconciler persisted last time, and the time. It
// returns a Plan: ordered Actions (SignOut, SignIn, Migrate, Reauthenticate,
// Resolve) and, when waiting is right, RetryAt. It does no IO and reads no
// clock; the same observation always yields the same plan.
//
// The planner's promises, each held by a test:
//
//  1. Quiet: a consistent observation plans nothing, on every profile, so a
//     consistent launch costs no network call, SDK mutation or write.
//  2. Minimal: a plan is a shortest action sequence that reaches the goal in
//     the profile's model (a brute-force search is the reference).
//  3. Idempotent: applying a successful plan and planning again yields an
//     empty plan (after at most one Resolve pass).
//  4. Safe: no plan leaves the SDK signed in as another Vital user than the
//     app's, and API-key mode is never the goal unless AllowAPIKey is set.
//
// A caller's duties, in order (Runner performs them; a caller that drives
// the planner itself takes them on):
//
//  1. Observe: read the SDK's status and current user ID, the app session,
//     and the persisted last observed state, last SDK error and next
//     attempt time.
//  2. Validate the observation (DecodeObservation does for JSON input).
//  3. Plan; if it is empty and RetryAt is set, wait until then.
//  4. Apply the actions in order, journaling each one before and after.
//  5. Persist the newly observed state; after a Resolve, plan once more.
//  6. Between launches, record the SDK errors the app meets
//     (Runner.Report): on iOS 1.4+ a needsReauthentication shows nowhere
//     else.
//
// An app runs Runner.RunAtLaunch at every process start and moves on; the
// runner is single-flight, classifies failures (transient ones back off,
// with the next attempt time persisted), and never signs in and out on a
// launch that agrees.
package reconcile
