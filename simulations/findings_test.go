package simulations

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestEngineEndsPreviousUserWhenSwitchFails pins an engine finding of the
// simulations (seed 1, 10,000 installations × 100 launches: the engine's
// wrong-user seconds are 198M against the docs recipe's 9.2M). On a user
// switch the planner resolves the new user's Vital user first (a network
// call) and only then signs out and in; when that call fails, the previous
// user's session stays on the device until a later launch succeeds, and
// the device keeps syncing the new user's health data into the previous
// user's Vital account. A sign-out needs no network: ending the previous
// user's session first would leave a data gap instead of a wrong user.
// The invariant as the simulations check it ("after a launch with the
// network up") holds; this test asks for the stronger form.
func TestEngineEndsPreviousUserWhenSwitchFails(t *testing.T) {
	ctx := context.Background()
	for _, p := range fsm.Profiles() {
		s := Solo{Seed: 1, Install: 0, Strategy: "engine", Setup: Setup{Profile: p.Name}, Steps: []Step{
			{At: 100, App: &AppEvent{Kind: "sign-in", User: appUser(0, 0)}},
			{At: 7300, App: &AppEvent{Kind: "sign-in", User: appUser(0, 1)},
				Net: []NetFault{{Kind: FaultLostRequest}}},
		}}
		res, err := RunSolo(ctx, s, "")
		require.NoError(t, err)
		require.Equal(t, "consistent", res.Records[0].Judged, p.Name)
		require.NotEqual(t, "wrong-user", res.Records[1].Judged, "%s: %+v", p.Name, res.Records[1])
	}
}

// TestEngineKeepsNoWrongUserWhileBackingOff pins the engine's one broken
// invariant in the simulations (`vitalsync simulate --seed 1` fails on it):
// the shrunk trace in testdata. The app user switches; the engine's first
// request of the switch (the Resolve) meets a 429 with a long Retry-After;
// at the next launch the network is up but the backoff is not over, so the
// planner defers the whole plan (Resolve, SignOut, SignIn: it needs the
// network) and the previous user's session stays on the device, syncing
// the new user's data into it. The planner signs out at once when the app
// signs out ("a plan of sign-outs is local"); the same reasoning applies to
// the sign-out of a switch. Remove the Skip once reconcile's planner is
// changed; the trace must then replay without a violation.
func TestEngineKeepsNoWrongUserWhileBackingOff(t *testing.T) {
	f, err := os.Open("testdata/engine-wrong-user-while-deferred.jsonl")
	require.NoError(t, err)
	defer f.Close()
	s, _, err := ReadTrace(f)
	require.NoError(t, err)
	res, err := RunSolo(context.Background(), s, "")
	require.NoError(t, err)
	require.Empty(t, res.Violations)
}

// TestEngineKeepsNoWrongUserWhileLocked replays a shrunk trace the fleet
// simulations found (testdata): on iOS 1.4+ the app user switches while the
// keychain is locked (a pre-warmed launch before the first unlock, §10.6).
// The planner signs the previous user's session out at once and defers only
// the sign-in, so no launch leaves the previous user signed in.
func TestEngineKeepsNoWrongUserWhileLocked(t *testing.T) {
	f, err := os.Open("testdata/engine-wrong-user-while-locked-and-deferred.jsonl")
	require.NoError(t, err)
	defer f.Close()
	s, _, err := ReadTrace(f)
	require.NoError(t, err)
	res, err := RunSolo(context.Background(), s, "")
	require.NoError(t, err)
	require.Empty(t, res.Violations)
}
