package simulations

import (
	"context"
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
	t.Skip("engine finding for reconcile's planner: a failed user switch keeps the previous user's session (see the comment)")
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
