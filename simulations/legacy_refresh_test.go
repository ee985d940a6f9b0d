package simulations

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
)

// TestLegacyLostRefreshAnswerIsNoReauthentication: on the legacy profiles
// (Firebase's Secure Token, which keeps the refresh token), a data sync's
// refresh whose answer is lost leaves the stored refresh token good, so the
// next sync refreshes and no launch plans a reauthentication or shows
// pendingReauthentication: a lost answer alone is no revocation.
func TestLegacyLostRefreshAnswerIsNoReauthentication(t *testing.T) {
	ctx := context.Background()
	n := 0
	for _, p := range fsm.Profiles() {
		if !p.LegacyTokenEndpoint {
			continue
		}
		n++
		t.Run(p.Name, func(t *testing.T) {
			d, err := newDevice(ctx, 1, 0, Setup{Profile: p.Name}, Engine{}, "")
			require.NoError(t, err)
			out := d.step(ctx, 0, Step{At: 100, App: &AppEvent{Kind: "sign-in", User: appUser(0, 0)}}, false)
			require.Equal(t, "consistent", out.rec.Judged)

			// The access token expires; the app's data sync refreshes it and
			// the answer is lost after Secure Token served it.
			d.clock.Set(timeAt(100 + 3*3600))
			d.net.armed = append(d.net.armed[:0], NetFault{Kind: FaultLostResponse})
			d.net.fired = nil
			d.net.counting = true
			d.sync(ctx, false)
			d.net.counting = false
			require.Equal(t, []Fault{FaultLostResponse}, d.net.fired, "the refresh's answer was lost")

			for k := 1; k <= TailLaunches; k++ {
				out = d.step(ctx, k, Step{At: int64(100 + (3+2*k)*3600), Sync: true, Tail: true}, k == TailLaunches)
				require.NotContains(t, out.rec.Plan, "reauthenticate", "launch %d", k)
				require.NotContains(t, out.rec.After, "pendingReauthentication", "launch %d", k)
				require.Equal(t, "consistent", out.rec.Judged, "launch %d", k)
				require.Empty(t, out.rec.Actions, "launch %d: the session needs nothing", k)
			}
		})
	}
	require.Positive(t, n)
}
