package simulations

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

func hashReport(t *testing.T, rep *FleetReport) [32]byte {
	t.Helper()
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// TestFleetOfAThousand runs 1,000 installations under every strategy: the
// engine breaks no invariant, and the strategies apps use without it show
// the findings docs/guides/simulations.md reports.
func TestFleetOfAThousand(t *testing.T) {
	cfg := Config{Seed: 7, Installs: 1000, Launches: 12, SQLiteFraction: 0.01, NoSwarm: true}
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Logf("1,000 installations × %d launches × %d strategies in %v", cfg.Launches, len(rep.Strategies), time.Since(start))

	byName := map[string]StrategyStats{}
	for _, s := range rep.Strategies {
		byName[s.Name] = s
		require.Greater(t, s.LaunchCount, cfg.Installs*cfg.Launches-1, s.Name)
	}
	engine := byName["engine"]
	// The engine breaks no invariant.
	for _, v := range engine.Violations {
		t.Errorf("engine violation: %+v", v)
	}
	require.Zero(t, engine.ViolationCount)
	require.Zero(t, engine.NeedlessSignOuts)
	require.Equal(t, 100.0, engine.ConsistentPct)

	// The docs' recipe compares IDs as strings: on iOS 1.4+, which reports
	// the user ID in upper case, it tears down a good session at every
	// launch.
	docs := byName["docs-recipe"]
	require.Positive(t, docs.NeedlessSignOuts)
	// It mints far more tokens than the engine (1.8× on this fleet, whose
	// profiles include Android 4.2.1–4.2.2, where the engine must sign a
	// dead session in anew).
	require.Greater(t, docs.MintsPer1000Launches, 1.5*engine.MintsPer1000Launches)
	for _, v := range docs.Violations {
		if v.Kind != ViolationNeedlessSignOut {
			continue
		}
		s, err := Install(cfg, v.Install, "docs-recipe")
		require.NoError(t, err)
		res, err := RunSolo(context.Background(), s, "")
		require.NoError(t, err)
		require.Contains(t, res.Violations, v, "installation %d replays alone as in the fleet", v.Install)
	}
	for _, p := range docs.ByProfile {
		// Android reports the user ID as the token said it, and Flutter
		// lower-cases it; iOS 1.4+ (and iOS 1.3 once upgraded), React Native
		// on it included, reports it in upper case.
		prof, _ := fsm.ParseProfile(p.Profile)
		up, _ := fsm.ParseProfile(upgrade(p.Profile))
		upper := func(q fsm.Profile) bool { return q.UpperCaseUserID && !q.LowerCaseUserID }
		if upper(prof) || upper(up) {
			require.Positive(t, p.NeedlessSignOuts, p.Profile)
		} else {
			require.Zero(t, p.NeedlessSignOuts, p.Profile)
		}
	}
	// Signing out and in at every launch tears down every good session.
	every := byName["every-launch"]
	require.Greater(t, every.NeedlessSignOuts, docs.NeedlessSignOuts)
	require.Greater(t, every.NetworkCallsPerLaunch, engine.NetworkCallsPerLaunch)

	// identify short-circuits on the stored external ID: on Android after
	// the backend deleted the user, on iOS 1.4+ after the refresh token was
	// revoked (its status never shows pending reauthentication), so those
	// installations never recover.
	id := byName["identify"]
	require.Less(t, id.ConsistentPct, 100.0)
	for _, v := range id.Violations {
		if v.Kind == ViolationNotLive {
			s, err := Install(cfg, v.Install, "identify")
			require.NoError(t, err)
			p, _ := fsm.ParseProfile(s.Setup.Profile)
			// Or the SDK never learns its user was deleted (Android
			// 4.2.1–4.2.2, and Flutter on Android, which pins 4.2.2), or its
			// status never says its refresh was revoked (iOS 1.4+, Flutter
			// on iOS: the docs' recipe, which identify is there, keeps it).
			require.True(t, p.IdentifyShortCircuits || upgrade(p.Name) != "" || !p.DetectsDeletion ||
				!p.ReportsPendingReauth,
				"identify stuck on %s", p.Name)
		}
	}
}

// TestSameSeedSameOutput runs a seed twice: the reports are byte for byte
// the same; another seed gives another report.
func TestSameSeedSameOutput(t *testing.T) {
	cfg := Config{Seed: 42, Installs: 100, Launches: 25, SQLiteFraction: 0.03,
		Strategies: []Strategy{Engine{}, DocsRecipe{}}}
	a, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	b, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, hashReport(t, a), hashReport(t, b))
	cfg.Seed = 43
	c, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.NotEqual(t, hashReport(t, a), hashReport(t, c))
}

// TestReplay writes an installation's trace and replays it line for line;
// an edited, foreign or malformed trace is refused with a typed error.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	s, err := Install(Config{Seed: 3, Installs: 20, Launches: 40}, 5, "engine")
	require.NoError(t, err)
	res, err := RunSolo(ctx, s, "")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteTrace(&buf, s, res.Records))
	trace := buf.Bytes()

	got, again, err := Replay(ctx, bytes.NewReader(trace), "")
	require.NoError(t, err)
	require.Equal(t, s.Install, got.Install)
	require.Equal(t, res.Records, again.Records)

	lines := strings.Split(strings.TrimSpace(string(trace)), "\n")
	require.Len(t, lines, len(s.Steps)+1)
	// An edited outcome no longer replays.
	edited := strings.Replace(string(trace), `"judged":"consistent"`, `"judged":"data-gap"`, 1)
	require.NotEqual(t, string(trace), edited)
	_, _, err = Replay(ctx, strings.NewReader(edited), "")
	require.ErrorIs(t, err, ErrReplayMismatch)

	for name, bad := range map[string]string{
		"empty":          "",
		"not json":       "hello\n",
		"foreign header": `{"type":"header","format":"other","version":1}` + "\n",
		"future version": strings.Replace(lines[0], `"version":1`, `"version":2`, 1) + "\n" + lines[1] + "\n",
		"unknown field":  strings.Replace(lines[0], `"type":"header"`, `"type":"header","extra":1`, 1) + "\n" + lines[1] + "\n",
		"no steps":       lines[0] + "\n",
		"out of order":   lines[0] + "\n" + lines[2] + "\n",
		"not a step":     lines[0] + "\n" + `{"type":"note"}` + "\n",
	} {
		_, _, err := Replay(ctx, strings.NewReader(bad), "")
		require.ErrorIs(t, err, ErrTrace, name)
	}
}

// stale is a deliberately broken strategy: it signs in only when the SDK
// holds no session, so a user switch leaves the previous user's session.
type stale struct{}

func (stale) Name() string { return "stale" }

func (stale) Launch(ctx context.Context, p *Process) LaunchResult {
	var l LaunchResult
	if p.App.SignedIn && !p.SDK().Status().Has(fsm.FlagSignedIn) {
		signOutIn(ctx, p, &l, false)
	}
	return finish(l)
}

// TestShrinkBrokenStrategy finds the broken strategy's wrong-user session
// in a fleet, shrinks the installation's schedule to a few steps, and the
// shrunk trace replays exactly and still fails.
func TestShrinkBrokenStrategy(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Seed: 11, Installs: 60, Launches: 40, Strategies: []Strategy{stale{}}}
	rep, err := Run(ctx, cfg)
	require.NoError(t, err)
	st := rep.Strategies[0]
	require.Positive(t, st.ViolationCount)
	var v *Violation
	for i := range st.Violations {
		if st.Violations[i].Kind == ViolationWrongUser {
			v = &st.Violations[i]
			break
		}
	}
	require.NotNil(t, v, "the broken strategy leaves a wrong user: %+v", st.Violations)

	s, err := Install(Config{Seed: 11, Installs: 60, Launches: 40}, v.Install, "engine")
	require.NoError(t, err)
	s.Strategy, s.impl = "stale", stale{}
	small, failed, err := Shrink(ctx, s, ViolationWrongUser, "")
	require.NoError(t, err)
	require.True(t, failed)
	require.LessOrEqual(t, len(small.Steps), 3+TailLaunches, "shrunk to %d of %d steps", len(small.Steps), len(s.Steps))
	t.Logf("shrunk from %d steps to %d (%d of them the liveness tail)", len(s.Steps), len(small.Steps), TailLaunches)

	res, err := RunSolo(ctx, small, "")
	require.NoError(t, err)
	var kinds []string
	for _, v := range res.Violations {
		kinds = append(kinds, v.Kind)
	}
	require.Contains(t, kinds, ViolationWrongUser)
	var buf bytes.Buffer
	require.NoError(t, WriteTrace(&buf, small, res.Records))
	tr := buf.String()
	// The replay runs the named strategy; give it the broken one.
	parsed, lines, err := ReadTrace(strings.NewReader(tr))
	require.NoError(t, err)
	parsed.impl = stale{}
	again, err := RunSolo(ctx, parsed, "")
	require.NoError(t, err)
	for i, rec := range again.Records {
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		require.Equal(t, string(lines[i]), string(b))
	}

	// A schedule that does not fail is returned as it is.
	ok, err := Install(Config{Seed: 11, Installs: 60, Launches: 40}, v.Install, "engine")
	require.NoError(t, err)
	same, failed, err := Shrink(ctx, ok, ViolationWrongUser, "")
	require.NoError(t, err)
	require.False(t, failed)
	require.Equal(t, ok.Steps, same.Steps)
}

// TestParseNames refuses unknown names with a typed error naming them.
func TestParseNames(t *testing.T) {
	_, err := ParseFaults("5xx,bogus")
	var ne *NameError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "fault", ne.Kind)
	require.Equal(t, "bogus", ne.Name)
	require.ErrorIs(t, err, ErrUnknownName)

	_, err = ParseStrategies("engine,nope")
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "strategy", ne.Kind)
	_, err = ParseProfiles("ios-9")
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "profile", ne.Kind)

	fs, err := ParseFaults("none")
	require.NoError(t, err)
	require.Empty(t, fs)
	fs, err = ParseFaults("timeout,5xx")
	require.NoError(t, err)
	require.Equal(t, []Fault{Fault5xx, FaultTimeout}, fs)
	for _, f := range Faults() {
		g, ok := ParseFault(string(f))
		require.True(t, ok)
		require.Equal(t, f, g)
	}
	_, err = Run(context.Background(), Config{Installs: 0, Launches: 1})
	require.ErrorIs(t, err, ErrConfig)
}

// TestFaultsNoneIsQuiet: without faults, every strategy ends consistent
// and the coverage names every fault class as not enabled (so not
// missing), but still the discrepancy classes that did not happen.
func TestFaultsNoneIsQuiet(t *testing.T) {
	rep, err := Run(context.Background(), Config{Seed: 5, Installs: 100, Launches: 20, Faults: []Fault{}})
	require.NoError(t, err)
	require.Empty(t, rep.Coverage.Enabled)
	for _, m := range rep.Coverage.Missing {
		require.True(t, strings.HasPrefix(m, "discrepancy:"), m)
	}
	for _, s := range rep.Strategies {
		if s.Name == "identify" || s.Name == "docs-recipe" {
			continue
		}
		require.Equal(t, 100.0, s.ConsistentPct, s.Name)
		require.Zero(t, s.RateLimited, s.Name)
	}
	require.Zero(t, rep.Strategies[0].ViolationCount)
}

// With crashes the only fault, every wrong-user second the engine leaves
// follows a crash (a launch with its process alive settles a switch or a
// sign-out at once), and it leaves no more than the docs' recipe. With a
// locked keychain the only fault, it leaves none.
func TestWrongUserAfterACrash(t *testing.T) {
	strategies, err := ParseStrategies("engine,docs-recipe")
	require.NoError(t, err)
	rep, err := Run(context.Background(), Config{Seed: 5, Installs: 300, Launches: 40, NoSwarm: true,
		Faults: []Fault{FaultCrash}, Strategies: strategies})
	require.NoError(t, err)
	require.Positive(t, rep.Coverage.Faults["crash-journal"]+rep.Coverage.Faults["crash-sdk"])
	engine := rep.Strategies[0]
	require.Equal(t, "engine", engine.Name)
	docs := rep.Strategies[1]
	require.Positive(t, docs.WrongUserSeconds, "some crash lands before a switch's sign-out")
	// Every strategy meets the same crash points, and the engine's
	// sign-out is the first step of its switch as the recipe's is (no
	// journal entry before it): it keeps a wrong user no longer.
	require.LessOrEqual(t, engine.WrongUserSeconds, docs.WrongUserSeconds)
	require.Equal(t, engine.WrongUserSeconds, engine.WrongUserAfterCrashSeconds)
	for _, s := range rep.Strategies {
		require.LessOrEqual(t, s.WrongUserAfterCrashSeconds, s.WrongUserSeconds, s.Name)
	}

	// A locked keychain defers the sign-in of a switch, never its sign-out:
	// the engine signs out a session known to be another's, on iOS 1.4+ by
	// its status and on iOS ≤1.3 (whose status reads signed out) by its
	// journal, so it leaves no wrong user; the docs' recipe cannot see the
	// session iOS ≤1.3 hides.
	rep, err = Run(context.Background(), Config{Seed: 4, Installs: 300, Launches: 40, NoSwarm: true,
		Faults: []Fault{FaultLockedKeychain}, Strategies: strategies})
	require.NoError(t, err)
	require.Positive(t, rep.Coverage.Faults[string(FaultLockedKeychain)])
	require.Zero(t, rep.Strategies[0].WrongUserSeconds)
	require.Zero(t, rep.Strategies[0].ViolationCount)
	require.Positive(t, rep.Strategies[1].WrongUserSeconds)
}
