package conformance

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/reconcile"
	"github.com/vitalsync/vitalsync/simulations"
)

// goEngine is the Go engine's binary, built once for the package's tests.
var goEngine string

// longFleet runs the fleet suite on larger fleets and more seeds (go test
// ./conformance -run Fleet -args -long-fleet).
var longFleet = flag.Bool("long-fleet", false, "run the fleet suite on 5 seeds of 60 installations × 40 launches")

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vitalsync-goengine-")
	if err != nil {
		panic(err)
	}
	goEngine = filepath.Join(dir, "goengine")
	out, err := exec.Command("go", "build", "-o", goEngine, "./goengine").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("build the Go engine: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, cfg Config) *Summary {
	t.Helper()
	cfg.Dir = t.TempDir()
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	return sum
}

func failures(sum *Summary) []CaseResult {
	var out []CaseResult
	for _, c := range sum.Cases {
		if c.Status != StatusPass {
			out = append(out, c)
		}
	}
	return out
}

// The Go engine, vitalsync's own reconcile package behind the protocol,
// passes every suite.
func TestGoEnginePassesEverySuite(t *testing.T) {
	t.Parallel()
	sum := run(t, Config{Engine: []string{goEngine}})
	require.Empty(t, failures(sum))
	require.True(t, sum.OK(false))
	requireEveryCaseRan(t, sum)
	require.Equal(t, "vitalsync-go", sum.Engine.Name)
}

// requireEveryCaseRan holds that a run of every suite ran each exported
// plan and runner case, crashed each launch at more than two points, and
// ran some case of every suite.
func requireEveryCaseRan(t *testing.T, sum *Summary) {
	t.Helper()
	per := map[string]int{}
	for _, c := range sum.Cases {
		per[c.Suite]++
	}
	plan, _ := EmbeddedPlan()
	runner, _ := EmbeddedRunner()
	require.Equal(t, len(plan.Cases), per[SuitePlan])
	require.Equal(t, len(runner.Cases), per[SuiteRunner])
	require.Greater(t, per[SuiteCrash], 2*len(runner.Cases), "every launch has crash points")
	for _, s := range Suites() {
		require.NotZero(t, per[s], "suite %s ran no case", s)
	}
}

// An engine with one planner rule removed fails, naming the cases of that
// rule, with what was expected and made and the command that replays it.
func TestMutatedPlannerFailsNamingTheCase(t *testing.T) {
	t.Parallel()
	sum := run(t, Config{Engine: []string{goEngine, "--mutate", MutationNoAlreadySignedIn}, Suites: []string{SuitePlan}})
	fails := failures(sum)
	require.NotEmpty(t, fails)
	plan, _ := EmbeddedPlan()
	var want []string
	for _, c := range plan.Cases {
		if c.Expect.Discrepancy == "already-signed-in" && c.Expect.Plan != nil && len(c.Expect.Plan.Actions) > 0 {
			want = append(want, c.Name)
		}
	}
	var got []string
	for _, f := range fails {
		got = append(got, f.Name)
		require.Equal(t, StatusFail, f.Status)
		require.Contains(t, f.Detail, "class already-signed-in, plan sign-out, sign-in(")
		require.Contains(t, f.Detail, "class sdk-signed-out, plan sign-in(")
		require.Contains(t, f.Replay, "--suite plan --case "+f.Name)
	}
	require.Equal(t, want, got)
	require.False(t, sum.OK(false))

	// The replay runs that case alone, and it fails again.
	one := run(t, Config{Engine: []string{goEngine, "--mutate", MutationNoAlreadySignedIn}, Suites: []string{SuitePlan},
		Case: fails[0].Name})
	require.Len(t, one.Cases, 1)
	require.Equal(t, StatusFail, one.Cases[0].Status)
}

// An engine whose journal does not survive the process fails the crash
// suite: the restarted engine reads another journal than it reported.
func TestForgetfulJournalFailsTheCrashSuite(t *testing.T) {
	t.Parallel()
	runner, err := EmbeddedRunner()
	require.NoError(t, err)
	runner.Cases = runner.Cases[:1]
	sum := run(t, Config{Engine: []string{goEngine, "--mutate", MutationMemoryJournal}, Suites: []string{SuiteRunner, SuiteCrash},
		Runner: &runner})
	fails := failures(sum)
	require.NotEmpty(t, fails)
	for _, f := range fails {
		require.Equal(t, SuiteCrash, f.Suite, "the runner suite does not restart the engine: %s", f.Detail)
		require.True(t, strings.HasPrefix(f.Name, runner.Cases[0].Name+"/launch:"), f.Name)
		require.Contains(t, f.Detail, "the restarted engine reads another journal than the last it reported saved")
		require.Contains(t, f.Replay, "--suite crash --case "+f.Name)
	}

	// The replay runs that crash point alone, and it fails again.
	one := run(t, Config{Engine: []string{goEngine, "--mutate", MutationMemoryJournal}, Suites: []string{SuiteCrash},
		Runner: &runner, Case: fails[len(fails)-1].Name})
	require.Len(t, one.Cases, 1)
	require.Equal(t, fails[len(fails)-1].Name, one.Cases[0].Name)
	require.Equal(t, StatusFail, one.Cases[0].Status)
}

// A runner vector the engine does not follow fails, printing the calls
// expected and made.
func TestRunnerFailurePrintsExpectedAndMade(t *testing.T) {
	t.Parallel()
	runner, err := EmbeddedRunner()
	require.NoError(t, err)
	c := runner.Cases[0]
	c.Steps = append([]Step(nil), c.Steps...)
	for i, s := range c.Steps {
		if s.Op == OpLaunch {
			e := *s.Expect
			e.Calls = append([]string{"sdk.signOut()"}, e.Calls...)
			c.Steps[i].Expect = &e
			break
		}
	}
	sum := run(t, Config{Engine: []string{goEngine}, Suites: []string{SuiteRunner},
		Runner: &RunnerFileData{Kind: KindRunner, Cases: []RunnerCase{c}}})
	fails := failures(sum)
	require.Len(t, fails, 1)
	require.Equal(t, c.Name, fails[0].Name)
	d := fails[0].Detail
	require.Contains(t, d, "expected:\n  calls:\n    sdk.signOut()\n")
	require.Contains(t, d, "made:\n  calls:\n    tokens.signInToken(alice)")
}

// Engines that break the protocol, or are not there, are clear errors or
// failures, not hangs.
func TestBrokenEngines(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Config{Engine: []string{"/nonexistent/engine"}, Dir: t.TempDir()})
	require.ErrorIs(t, err, fs.ErrNotExist)

	_, err = Run(context.Background(), Config{Engine: []string{"sh", "-c", "read l; echo not-json; sleep 5"}, Dir: t.TempDir()})
	require.ErrorIs(t, err, ErrProtocol)

	_, err = Run(context.Background(), Config{Engine: []string{"sh", "-c", "read l; exit 0"}, Dir: t.TempDir()})
	require.ErrorIs(t, err, ErrEngineExited)

	_, err = Run(context.Background(), Config{Engine: []string{goEngine}, Suites: []string{"nope"}, Dir: t.TempDir()})
	require.ErrorIs(t, err, ErrUsage)

	// An engine that says hello and then answers every command with an
	// error fails every case, and the run goes on.
	script := `read l; echo '{"reply":1,"result":{"name":"x","version":"0","protocol":1,"capabilities":["plan"]}}'
n=2; while read l; do echo "{\"reply\":$n,\"error\":{\"message\":\"no\"}}"; n=$((n+1)); done`
	plan, err := EmbeddedPlan()
	require.NoError(t, err)
	plan.Cases = plan.Cases[:3]
	sum := run(t, Config{Engine: []string{"sh", "-c", script}, Suites: []string{SuitePlan}, Plan: &plan})
	require.Len(t, failures(sum), 3)
	require.Contains(t, sum.Cases[0].Detail, "the engine failed plan: no")

	// An engine that says hello and then goes silent fails the case when
	// its message is overdue.
	silent := `read l; echo '{"reply":1,"result":{"name":"x","version":"0","protocol":1,"capabilities":["plan"]}}'; sleep 5`
	plan.Cases = plan.Cases[:1]
	sum = run(t, Config{Engine: []string{"sh", "-c", silent}, Suites: []string{SuitePlan}, Plan: &plan,
		MessageTimeout: 300 * time.Millisecond})
	require.Len(t, failures(sum), 1)
	require.Contains(t, sum.Cases[0].Detail, "no message from the engine in time")
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"a b  c":                       {"a", "b", "c"},
		`node "dist/engine.js"`:        {"node", "dist/engine.js"},
		`sh -c 'echo "a b"'`:           {"sh", "-c", `echo "a b"`},
		`a\ b c`:                       {"a b", "c"},
		`vitalsync conformance-engine`: {"vitalsync", "conformance-engine"},
	} {
		got, err := SplitCommand(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "   ", `a "b`, `a\`} {
		_, err := SplitCommand(bad)
		require.Error(t, err, bad)
	}
}

// The fleet through the protocol is the fleet in process: on the same
// seeds, the Go engine process meets the same world and leaves the same
// measures as vitalsync's engine run in the simulations' own process, so
// the bridge (the calls, the journal kept in step with the world's, its
// crash points, the SDK errors the app records) adds nothing and loses
// nothing.
func TestFleetThroughTheProtocolIsTheFleetInProcess(t *testing.T) {
	t.Parallel()
	seeds, installs, launches := []uint64{1, 2, 3}, 10, 15
	if *longFleet {
		seeds, installs, launches = []uint64{1, 2, 3, 4, 5}, 60, 40
	}
	for _, seed := range seeds {
		h := &harness{cfg: Config{Engine: []string{goEngine}, Dir: t.TempDir()}, sum: &Summary{}}
		s := &remoteStrategy{h: h, paths: map[string]string{}, reported: map[string]reconcile.JournalEntry{},
			errs: map[string]error{}}
		cfg := simulations.Config{Seed: seed, Installs: installs, Launches: launches}
		cfg.Strategies = []simulations.Strategy{s}
		remote, err := simulations.Run(context.Background(), cfg)
		h.stop()
		require.NoError(t, err)
		require.Empty(t, s.errs)
		cfg.Strategies = []simulations.Strategy{simulations.Engine{}}
		local, err := simulations.Run(context.Background(), cfg)
		require.NoError(t, err)
		r, l := remote.Strategies[0], local.Strategies[0]
		r.Name = l.Name
		require.Equal(t, l, r, "seed %d", seed)
		require.Equal(t, local.Coverage.Faults, remote.Coverage.Faults, "seed %d", seed)
		// A killed engine replies nothing, so the world cannot count the
		// class of a crashed launch's first pass; every other one agrees.
		crashes := 0
		for f, n := range local.Coverage.Faults {
			if strings.HasPrefix(f, "crash-") {
				crashes += n
			}
		}
		missed := 0
		for d, n := range local.Coverage.Discrepancies {
			require.LessOrEqual(t, remote.Coverage.Discrepancies[d], n, "seed %d: %s", seed, d)
			missed += n - remote.Coverage.Discrepancies[d]
		}
		require.LessOrEqual(t, missed, crashes, "seed %d", seed)
	}
}

// An engine whose sign-out does nothing fails the runner suite on the
// transcripts that sign out, the crash suite with another user's session
// left in place, and the fleet with the simulations' wrong-user invariant.
func TestEngineThatDoesNotSignOutFails(t *testing.T) {
	t.Parallel()
	runner, err := EmbeddedRunner()
	require.NoError(t, err)
	var switches []RunnerCase
	for _, c := range runner.Cases {
		if strings.HasPrefix(c.Name, "switch_user.txt:") {
			switches = append(switches, c)
		}
	}
	require.NotEmpty(t, switches)
	sum := run(t, Config{Engine: []string{goEngine, "--mutate", MutationNoSignOut},
		Suites: []string{SuiteRunner, SuiteCrash, SuiteFleet}, Runner: &RunnerFileData{Kind: KindRunner, Cases: switches},
		Fleet: FleetConfig{Seed: 1, Installs: 12, Launches: 20}})
	bySuite := map[string][]CaseResult{}
	for _, f := range failures(sum) {
		bySuite[f.Suite] = append(bySuite[f.Suite], f)
	}
	require.NotEmpty(t, bySuite[SuiteRunner])
	require.Contains(t, bySuite[SuiteRunner][0].Detail, "sdk.signOut()")
	require.NotEmpty(t, bySuite[SuiteCrash])
	wrong := false
	for _, f := range bySuite[SuiteCrash] {
		wrong = wrong || strings.Contains(f.Detail, "left the SDK signed in as")
	}
	require.True(t, wrong, "no crash case names a session left for another user")
	require.NotEmpty(t, bySuite[SuiteFleet])
	kinds := ""
	for _, f := range bySuite[SuiteFleet] {
		kinds += f.Detail
	}
	require.Contains(t, kinds, "wrong-user")
}

// A plan that differs only in how an action is applied (which the plan's
// rendering leaves out) prints the JSON of both.
func TestPlanFailureShowsWhatTheRenderingHides(t *testing.T) {
	t.Parallel()
	plan, err := EmbeddedPlan()
	require.NoError(t, err)
	var c PlanCase
	for _, pc := range plan.Cases {
		if pc.Expect.Plan != nil && len(pc.Expect.Plan.Actions) == 1 && pc.Expect.Plan.Actions[0].SDKCall != "" {
			c = pc
			break
		}
	}
	require.NotEmpty(t, c.Name, "no vector applies an action through identify")
	p := *c.Expect.Plan
	p.Actions = []Action{{Type: p.Actions[0].Type, VitalUserID: p.Actions[0].VitalUserID}}
	c.Expect.Plan = &p
	sum := run(t, Config{Engine: []string{goEngine}, Suites: []string{SuitePlan},
		Plan: &PlanFileData{Kind: KindPlan, Cases: []PlanCase{c}}})
	fails := failures(sum)
	require.Len(t, fails, 1)
	require.Contains(t, fails[0].Detail, "expected JSON: ")
	require.Contains(t, fails[0].Detail, `"sdk_call":"identifyExternalUser"`)
}

// An engine that fails its launches fails every fleet installation with
// its error, and the run still ends.
func TestFleetEngineThatFailsLaunches(t *testing.T) {
	t.Parallel()
	script := `read l; echo '{"reply":1,"result":{"name":"x","version":"0","protocol":1,"capabilities":["plan","launch","record"]}}'
while read l; do id=$(printf '%s' "$l" | sed 's/.*"id":\([0-9]*\).*/\1/'); echo "{\"reply\":$id,\"error\":{\"message\":\"no launch here\"}}"; done`
	sum := run(t, Config{Engine: []string{"sh", "-c", script}, Suites: []string{SuiteFleet},
		Fleet: FleetConfig{Seed: 2, Installs: 3, Launches: 4}})
	fails := failures(sum)
	require.Len(t, fails, 3)
	for i, f := range fails {
		require.Equal(t, fmt.Sprintf("seed:2/install:%d", i), f.Name)
		require.Contains(t, f.Detail, "the engine failed launch: no launch here")
		require.Contains(t, f.Replay, "--suite fleet --case "+f.Name)
	}
}
