package main

// The vitalsync binary keeps Go's default minimum RSA key size for every
// command that serves or signs anything real. Only while `simulate` runs
// is the minimum lifted (GODEBUG rsa1024min=0, set in the process and put
// back when the command returns), so that its in-process emulators sign
// the simulated Sign-In Tokens with the fixed 512-bit key
// (simulations.SigningKeyBits): at 1,024 bits the signatures were four
// fifths of a simulated launch's CPU. Those tokens never leave the
// process.

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vitalsync/vitalsync/simulations"
)

// errEngineViolation: the engine strategy broke an invariant (exit 1).
var errEngineViolation = errors.New("the engine broke an invariant")

// errReplayViolation: a replayed trace broke an invariant again (exit 1).
var errReplayViolation = errors.New("the replayed run breaks an invariant")

type simulateFlags struct {
	installs, launches         int
	seed                       uint64
	faults, strategy, profiles string
	format, trace, replay, svg string
	reports                    string
	sqliteFraction             float64
	noSwarm                    bool
}

func runSimulate(ctx context.Context, e *env, args []string) error {
	defer relaxRSAMinimum()()
	// A run's heap lives as long as the run: collecting it less often saves
	// a fifth of the CPU, and a soft limit keeps a large fleet's heap from
	// growing fivefold for it.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(4 << 30))
	fs := newFlagSet(e, "simulate", "[--installs N] [--launches M] [--seed S] [--faults LIST|all|none] "+
		"[--strategy LIST|all] [--profiles LIST] [--format table|json|csv] [--trace FILE] [--replay FILE] [--svg FILE] [--reports FILE]")
	var f simulateFlags
	fs.IntVar(&f.installs, "installs", 1000, "installations in the fleet")
	fs.IntVar(&f.launches, "launches", 100, "launches per installation (before the quiet liveness tail)")
	fs.Uint64Var(&f.seed, "seed", 1, "the seed that decides the whole run")
	fs.StringVar(&f.faults, "faults", "all", "fault classes the seed's swarm draws from: a comma list, all or none")
	fs.StringVar(&f.strategy, "strategy", "all", "strategies to compare: a comma list of engine, docs-recipe, identify, every-launch, or all")
	fs.StringVar(&f.profiles, "profiles", "all", "SDK profiles the installations run: a comma list or all")
	fs.StringVar(&f.format, "format", "table", "output format: table, json or csv")
	fs.StringVar(&f.trace, "trace", "", "write the minimized trace of an engine failure to this file (default: a temporary file)")
	fs.StringVar(&f.replay, "replay", "", "replay a trace file instead of running a fleet")
	fs.StringVar(&f.svg, "svg", "", "draw consistency over virtual time and wrong-user against data-gap seconds, per strategy and profile, to this SVG file")
	fs.StringVar(&f.reports, "reports", "", "write each installation's final report under the first strategy to this JSONL file (the public report schema, with mapped_vital_user_id; vitalsync audit --jsonl reads it)")
	fs.Float64Var(&f.sqliteFraction, "sqlite-fraction", 0.01, "share of installations on real SQLite files")
	fs.BoolVar(&f.noSwarm, "no-swarm", false, "turn every listed fault class on, instead of the seed's pick")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("simulate takes no arguments")
	}
	if err := oneOf("format", f.format, "table", "json", "csv"); err != nil {
		return err
	}
	if f.replay != "" {
		return replayTrace(ctx, e, f)
	}
	if f.installs <= 0 || f.launches <= 0 {
		return usagef("--installs and --launches must be positive")
	}
	if f.sqliteFraction < 0 || f.sqliteFraction > 1 {
		return usagef("--sqlite-fraction must be between 0 and 1")
	}
	cfg := simulations.Config{Seed: f.seed, Installs: f.installs, Launches: f.launches,
		SQLiteFraction: f.sqliteFraction, NoSwarm: f.noSwarm}
	var err error
	if cfg.Faults, err = simulations.ParseFaults(f.faults); err != nil {
		return usageErr(err)
	}
	if cfg.Strategies, err = simulations.ParseStrategies(f.strategy); err != nil {
		return usageErr(err)
	}
	if cfg.Profiles, err = simulations.ParseProfiles(f.profiles); err != nil {
		return usageErr(err)
	}
	if isTerminal(e.stderr) {
		// The strategies run side by side: one line shows them all.
		pct := make([]int, len(cfg.Strategies))
		for k := range pct {
			pct[k] = -1
		}
		finished := 0
		cfg.Progress = func(name string, done, total int) {
			for k, s := range cfg.Strategies {
				if s.Name() != name {
					continue
				}
				p := 100 * done / total
				if p == pct[k] {
					return
				}
				pct[k] = p
				if done == total {
					finished++
				}
			}
			var parts []string
			for k, s := range cfg.Strategies {
				parts = append(parts, fmt.Sprintf("%s %3d%%", s.Name(), max(0, pct[k])))
			}
			fmt.Fprintf(e.stderr, "\r%s (of %d installations)", strings.Join(parts, "  "), total)
			if finished == len(cfg.Strategies) {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	var reports *bufio.Writer
	var reportsFile *os.File
	if f.reports != "" {
		if reportsFile, err = os.Create(f.reports); err != nil {
			return err
		}
		defer reportsFile.Close()
		reports = bufio.NewWriter(reportsFile)
		cfg.Reports = simulations.ReportWriter(reports)
	}
	rep, err := simulations.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if reports != nil {
		if err := reports.Flush(); err != nil {
			return err
		}
		if err := reportsFile.Close(); err != nil {
			return err
		}
	}
	if err := printSimulation(e.stdout, f.format, rep); err != nil {
		return err
	}
	if f.svg != "" {
		if err := writeOutput(f.svg, func(w io.Writer) error { return simulations.WriteSVG(w, rep) }); err != nil {
			return err
		}
	}
	return engineFailure(ctx, e, f, cfg, rep)
}

// relaxRSAMinimum lifts Go's 1,024-bit RSA minimum in this process (the
// simulations' toy signing key) and returns the function that puts the
// previous GODEBUG back.
func relaxRSAMinimum() func() {
	old, had := os.LookupEnv("GODEBUG")
	v := "rsa1024min=0"
	if had && old != "" {
		v = old + "," + v
	}
	os.Setenv("GODEBUG", v)
	return func() {
		if had {
			os.Setenv("GODEBUG", old)
		} else {
			os.Unsetenv("GODEBUG")
		}
	}
}

// engineFailure shrinks the engine's first violation, if any, to a trace,
// and says how to replay it.
func engineFailure(ctx context.Context, e *env, f simulateFlags, cfg simulations.Config, rep *simulations.Report) error {
	var v *simulations.Violation
	for _, s := range rep.Strategies {
		if s.Name == (simulations.Engine{}).Name() && len(s.Violations) > 0 {
			v = &s.Violations[0]
		}
	}
	if v == nil {
		return nil
	}
	solo, err := simulations.Install(cfg, v.Install, "engine")
	if err != nil {
		return err
	}
	small, _, err := simulations.Shrink(ctx, solo, v.Kind, "")
	if err != nil {
		return err
	}
	res, err := simulations.RunSolo(ctx, small, "")
	if err != nil {
		return err
	}
	path := f.trace
	if path == "" {
		tf, err := os.CreateTemp("", fmt.Sprintf("vitalsync-sim-%d-%d-*.jsonl", cfg.Seed, v.Install))
		if err != nil {
			return err
		}
		path = tf.Name()
		tf.Close()
	}
	if err := writeOutput(path, func(w io.Writer) error { return simulations.WriteTrace(w, small, res.Records) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "engine broke %q: seed %d, installation %d, step %d (shrunk from %d steps to %d)\n",
		v.Kind, cfg.Seed, v.Install, v.Step, len(solo.Steps), len(small.Steps))
	fmt.Fprintf(e.stderr, "trace: %s\nreplay: vitalsync simulate --replay %s\n", path, path)
	return fmt.Errorf("%w: %s at installation %d", errEngineViolation, v.Kind, v.Install)
}

// replayTrace replays a trace and prints its steps.
func replayTrace(ctx context.Context, e *env, f simulateFlags) error {
	file, err := os.Open(f.replay)
	if err != nil {
		return err
	}
	defer file.Close()
	solo, res, err := simulations.Replay(ctx, file, "")
	if errors.Is(err, simulations.ErrTrace) {
		return usageErr(fmt.Errorf("%s: %w", f.replay, err))
	}
	if err != nil {
		return err
	}
	switch f.format {
	case "json":
		// A trace is JSON lines already: print the replayed records so.
		enc := json.NewEncoder(e.stdout)
		for _, r := range res.Records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	case "csv":
		cw := csv.NewWriter(e.stdout)
		cw.Write([]string{"step", "time", "input", "before", "after", "actions", "result", "judged", "violations"})
		for _, r := range res.Records {
			cw.Write([]string{strconv.Itoa(r.Index), r.T, describeInput(r), r.Before, r.After,
				strings.Join(r.Actions, "; "), r.Result, r.Judged, strings.Join(r.Violations, ",")})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "seed %d, installation %d, strategy %s, profile %s: %d steps replayed identically\n",
			solo.Seed, solo.Install, solo.Strategy, display(solo.Setup.Profile), len(res.Records))
		fmt.Fprintln(tw, "step\ttime\tinput\tsdk before → after\tactions\tresult\tjudged\tviolations")
		for _, r := range res.Records {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s → %s\t%s\t%s\t%s\t%s\n", r.Index, r.T, describeInput(r), r.Before, r.After,
				orDash(display(strings.Join(r.Actions, "; "))), r.Result, r.Judged, orDash(strings.Join(r.Violations, ",")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(res.Violations) > 0 && solo.Strategy == (simulations.Engine{}).Name() {
		return fmt.Errorf("%w: %s", errReplayViolation, res.Violations[0].Kind)
	}
	return nil
}

// describeInput summarizes a step's input for the replay table.
func describeInput(r simulations.Record) string {
	var parts []string
	if a := r.Input.App; a != nil {
		parts = append(parts, strings.TrimSpace(a.Kind+" "+display(a.User)))
	}
	for _, f := range r.Input.Between {
		parts = append(parts, string(f))
	}
	for _, n := range r.Input.Net {
		parts = append(parts, string(n.Kind)+" on request "+strconv.Itoa(n.Skip+1))
	}
	if r.Input.Crash != nil {
		parts = append(parts, "crash before step "+strconv.Itoa(*r.Input.Crash))
	}
	if r.Input.Concurrent {
		parts = append(parts, "second launch task")
	}
	if r.Input.Sync {
		parts = append(parts, "data sync")
	}
	if r.Input.Tail {
		parts = append(parts, "(faults stopped)")
	}
	return orDash(strings.Join(parts, ", "))
}

// simulationColumns are the table's and the CSV's columns.
var simulationColumns = []string{"strategy", "consistent_pct", "launches_to_converge_p50", "launches_to_converge_p99",
	"seconds_to_converge_p50", "seconds_to_converge_p99", "wrong_user_seconds", "wrong_user_after_crash_seconds",
	"wrong_user_worst_install_seconds", "data_gap_seconds", "needless_sign_outs", "mints_per_1000_launches",
	"network_calls_per_launch", "rate_limited_429s", "violations"}

// num prints x in plain decimals: an integer as an integer, never with an
// exponent.
func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// secs prints a sum of virtual seconds as whole seconds.
func secs(x float64) string { return num(math.Round(x)) }

func simulationRow(s simulations.StrategyStats) []string {
	return []string{s.Name, num(s.ConsistentPct), num(s.LaunchesToConvergeP50), num(s.LaunchesToConvergeP99),
		secs(s.SecondsToConvergeP50), secs(s.SecondsToConvergeP99), secs(s.WrongUserSeconds), secs(s.WrongUserAfterCrashSeconds),
		secs(s.WrongUserWorstInstallSeconds), secs(s.DataGapSeconds), strconv.Itoa(s.NeedlessSignOuts), num(s.MintsPer1000Launches),
		num(s.NetworkCallsPerLaunch), strconv.Itoa(s.RateLimited), strconv.Itoa(s.ViolationCount)}
}

// printSimulation prints a report as a table, JSON or CSV.
func printSimulation(w io.Writer, format string, rep *simulations.Report) error {
	switch format {
	case "json":
		return json.NewEncoder(w).Encode(rep)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(simulationColumns)
		for _, s := range rep.Strategies {
			cw.Write(simulationRow(s))
		}
		cw.Flush()
		return cw.Error()
	}
	fmt.Fprintf(w, "seed %d: %d installations × %d launches (+%d after faults stop); faults on: %s\n\n",
		rep.Seed, rep.Installs, rep.Launches, simulations.TailLaunches, orDash(joinFaults(rep.Coverage.Enabled)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tconsistent %\tlaunches to converge p50/p99\tseconds to converge p50/p99\twrong-user s (after a crash)\tworst installation\tdata-gap s\tneedless sign-outs\tmints/1000 launches\tcalls/launch\t429s\tviolations\t")
	for _, s := range rep.Strategies {
		r := simulationRow(s)
		fmt.Fprintf(tw, "%s\t%s\t%s / %s\t%s / %s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r[0], r[1], r[2], r[3], r[4], r[5],
			r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nby the profile an installation started on:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tprofile\tinstallations\tconsistent %\twrong-user s\tworst installation\tdata-gap s\tneedless sign-outs\tmints/1000 launches\tviolations\t")
	for _, s := range rep.Strategies {
		for _, p := range s.ByProfile {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t\n", s.Name, p.Profile, p.Installs, num(p.ConsistentPct),
				secs(p.WrongUserSeconds), secs(p.WrongUserWorstInstallSeconds), secs(p.DataGapSeconds), p.NeedlessSignOuts,
				num(p.MintsPer1000Launches), p.ViolationCount)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Strategies {
		if s.ViolationCount == 0 {
			continue
		}
		counts := map[string]int{}
		var kinds []string
		for _, v := range s.Violations {
			if counts[v.Kind] == 0 {
				kinds = append(kinds, v.Kind)
			}
			counts[v.Kind]++
		}
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s (e.g. installation %d)", k, firstOf(s.Violations, k)))
		}
		label := "finding"
		if s.Name == (simulations.Engine{}).Name() {
			label = "FAILURE"
		}
		fmt.Fprintf(w, "\n%s: %s broke %d invariant(s): %s", label, s.Name, s.ViolationCount, strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if len(rep.Coverage.Missing) > 0 {
		fmt.Fprintf(w, "\nnot covered: %s\n", strings.Join(rep.Coverage.Missing, ", "))
	}
	return nil
}

func firstOf(vs []simulations.Violation, kind string) int {
	for _, v := range vs {
		if v.Kind == kind {
			return v.Install
		}
	}
	return -1
}

func joinFaults(fs []simulations.Fault) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

// writeOutput writes a file through fn.
func writeOutput(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
