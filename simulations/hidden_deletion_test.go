package simulations

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// hiddenRun is one strategy's run of an installation's first steps, with
// the Junction hosts saturated during one step: every request of that step
// (the data sync between the launches and the launch itself) is answered
// 429, as a fleet's shared backend answers them at a herd deletion.
type hiddenRun struct {
	recs []Record
	// wrong and gap are the wrong-user and data-gap seconds charged when
	// each step starts (for the time since the previous one).
	wrong, gap []float64
	// journal is the journal entry as the launch at the saturated step
	// left it.
	journal string
}

func runSaturated(t *testing.T, s Solo, strategy string, busy int) hiddenRun {
	t.Helper()
	ctx := context.Background()
	strats, err := ParseStrategies(strategy)
	require.NoError(t, err)
	b, err := newBackend(s.Seed, s.Install, 1e9)
	require.NoError(t, err)
	d, err := newDeviceOn(ctx, b, s.Seed, s.Install, s.Setup, strats[0], t.TempDir())
	require.NoError(t, err)
	defer d.close()
	var run hiddenRun
	for i, st := range s.Steps {
		b.limit.at = d.clock.Now()
		if i == busy {
			b.limit.rate, b.limit.tokens = 1e-9, 0
		} else {
			b.limit.rate, b.limit.tokens = 1e9, b.limit.burst
		}
		var stats StrategyStats
		var ps ProfileStats
		d.back.current = d
		out := d.stepAndAccount(ctx, i, st, i == len(s.Steps)-1, &stats, &ps)
		run.recs = append(run.recs, out.rec)
		run.wrong = append(run.wrong, stats.WrongUserSeconds)
		run.gap = append(run.gap, stats.DataGapSeconds)
		if i == busy {
			e, err := d.journal.Load(ctx)
			require.NoError(t, err)
			run.journal = fmt.Sprintf("%+v", e)
		}
	}
	return run
}

// TestADeletionTheSDKCouldNotLearnOf pins the one loss the engine has at
// seed 3 (10,000 installations × 100 launches): every-launch's 2.8 k fewer
// wrong-user seconds are all installation 2985's, and only in the fleet.
// The backend deletes the installation's Vital user in a herd deletion;
// the SDK's data sync is refused and it refreshes at once, but the fleet's
// shared backend, under every installation's refresh at the same instant,
// answers 429, so the SDK keeps the deleted user's session and the launch
// finds what it always finds (TestADeletionTheSDKCouldNotLearnOf/engine
// plans nothing, as with a live session). Every-launch signs out there and
// its sign-in is refused too; at the next launch the app signs out and the
// process dies at its first step, the sign-out: whoever still holds a
// session keeps it until the launch after, as wrong-user seconds.
//
// The world where the user was not deleted shows why no strategy can do
// better: the engine's launch sees the same SDK and journal there, and
// the same act that spares every-launch the wrong-user seconds (ending a
// session on a launch with no discrepancy, then failing to sign in) costs
// it a data gap on a session that worked. A strategy avoids these seconds
// only by tearing good sessions down.
func TestADeletionTheSDKCouldNotLearnOf(t *testing.T) {
	const inst, herd, signOut, after = 2985, 26, 27, 28
	cfg := Config{Seed: 3, Installs: 10000, Launches: 100, SQLiteFraction: 0.01}
	base, err := Install(cfg, inst, "engine")
	require.NoError(t, err)
	require.Equal(t, "rn-5.2-ios-1.8.1", base.Setup.Profile)
	require.Equal(t, []Fault{FaultHerdDeletion}, base.Steps[herd].Between)
	require.NotNil(t, base.Steps[signOut].App)
	require.Equal(t, "sign-out", base.Steps[signOut].App.Kind)
	require.NotNil(t, base.Steps[signOut].Crash)
	require.Equal(t, 0, *base.Steps[signOut].Crash, "the process dies before its first step")

	deleted := base
	deleted.Steps = append([]Step(nil), base.Steps[:after+1]...)
	alive := deleted
	alive.Steps = append([]Step(nil), deleted.Steps...)
	alive.Steps[herd].Between, alive.Steps[herd].Herd, alive.Steps[herd].Sync = nil, "", true

	runs := map[string]map[string]hiddenRun{}
	for _, strategy := range []string{"engine", "docs-recipe", "identify", "every-launch"} {
		runs[strategy] = map[string]hiddenRun{
			"deleted": runSaturated(t, deleted, strategy, herd),
			"alive":   runSaturated(t, alive, strategy, herd),
		}
	}

	// The fleet's run of 2985, on one installation.
	eng, every := runs["engine"]["deleted"], runs["every-launch"]["deleted"]
	require.Equal(t, []Fault{FaultHerdDeletion}, eng.recs[herd].Applied)
	require.Equal(t, "(nothing)", eng.recs[herd].Plan, "the SDK still holds the session")
	require.Equal(t, "data-gap", eng.recs[herd].Judged, "the session's user is gone")
	require.NotEmpty(t, eng.recs[signOut].Crashed)
	require.Equal(t, "wrong-user", eng.recs[signOut].Judged)
	require.Greater(t, eng.wrong[after], 2000.0, "until the next launch signs out")
	require.Equal(t, "failed", every.recs[herd].Result)
	require.Equal(t, "{}", every.recs[herd].After, "every-launch's sign-out held, its sign-in was refused")
	require.Equal(t, "consistent", every.recs[signOut].Judged)
	require.Zero(t, every.wrong[after])

	// The engine cannot tell the two worlds apart at the herd's launch.
	engAlive := runs["engine"]["alive"]
	require.Equal(t, eng.recs[herd].Before, engAlive.recs[herd].Before)
	require.Equal(t, eng.recs[herd].Plan, engAlive.recs[herd].Plan)
	require.Equal(t, eng.journal, engAlive.journal)
	require.Equal(t, "consistent", engAlive.recs[herd].Judged)
	require.Equal(t, "wrong-user", engAlive.recs[signOut].Judged)

	// Whoever holds a session when the sign-out's process dies pays the
	// same seconds as wrong-user, in either world; whoever holds none had
	// ended a working session and paid a data gap for it.
	for strategy, worlds := range runs {
		for world, r := range worlds {
			held := r.recs[herd].After != "{}"
			if held {
				require.Equal(t, "wrong-user", r.recs[signOut].Judged, "%s, %s", strategy, world)
				require.InDelta(t, eng.wrong[after], r.wrong[after], 1, "%s, %s", strategy, world)
				continue
			}
			require.Equal(t, "consistent", r.recs[signOut].Judged, "%s, %s", strategy, world)
			a := runs[strategy]["alive"]
			require.Equal(t, "data-gap", a.recs[herd].Judged, "%s ended a working session", strategy)
			require.Greater(t, a.gap[signOut], 0.0, strategy)
		}
	}
	require.Zero(t, engAlive.gap[signOut], "the engine kept the working session")
}
