package main

// The vitalsync binary keeps Go's default minimum RSA key size for every
// command that serves or signs anything real. Only while `simulate` runs is
// it lifted (simulations.RelaxRSAMinimum), for the simulated tokens'
// 512-bit key; those tokens never leave the process.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/vitalsync/vitalsync/simulations"
)

// errEngineViolation: the engine strategy broke an invariant (exit 1).
var errEngineViolation = errors.New("the engine broke an invariant")

// errReplayViolation: a replayed trace broke an invariant again (exit 1).
var errReplayViolation = errors.New("the replayed run breaks an invariant")

// simulateFlags are simulate's flags: the fleet run's configuration (its
// lists parsed by config), and where its results go.
type simulateFlags struct {
	simulations.Config
	faults, strategy, profiles  string
	trace, replay, svg, reports string
	format                      *choice
}

func parseSimulateFlags(e *env, args []string) (*simulateFlags, error) {
	fs := newFlagSet(e, "simulate", "[--installs N] [--launches M] [--seed S] [--faults LIST|all|none] "+
		"[--strategy LIST|all] [--profiles LIST] [--format table|json|csv] [--trace FILE] [--replay FILE] [--svg FILE] [--reports FILE]")
	f := &simulateFlags{}
	fs.IntVar(&f.Installs, "installs", 1000, "installations in the fleet")
	fs.IntVar(&f.Launches, "launches", 100, "launches per installation (before the quiet liveness tail)")
	fs.Uint64Var(&f.Seed, "seed", 1, "the seed that decides the whole run")
	fs.StringVar(&f.faults, "faults", "all", "fault classes the seed's swarm draws from: a comma list, all or none")
	fs.StringVar(&f.strategy, "strategy", "all", "strategies to compare: a comma list of engine, docs-recipe, identify, every-launch, or all")
	fs.StringVar(&f.profiles, "profiles", "all", "SDK profiles the installations run: a comma list or all")
	f.format = choiceFlag(fs, "format", "table", "output format", "table", "json", "csv")
	fs.StringVar(&f.trace, "trace", "", "write the minimized trace of an engine failure to this file (default: a temporary file)")
	fs.StringVar(&f.replay, "replay", "", "replay a trace file instead of running a fleet")
	fs.StringVar(&f.svg, "svg", "", "draw consistency over virtual time and wrong-user against data-gap seconds, per strategy and profile, to this SVG file")
	fs.StringVar(&f.reports, "reports", "", "write each installation's final report under the first strategy to this JSONL file (the public report schema, with mapped_vital_user_id; vitalsync audit --jsonl reads it)")
	fs.Float64Var(&f.SQLiteFraction, "sqlite-fraction", 0.01, "share of installations on real SQLite files")
	fs.BoolVar(&f.NoSwarm, "no-swarm", false, "turn every listed fault class on, instead of the seed's pick")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return nil, err
	}
	switch {
	case f.replay != "":
	case f.Installs <= 0 || f.Launches <= 0:
		return nil, usagef("--installs and --launches must be positive")
	case f.SQLiteFraction < 0 || f.SQLiteFraction > 1:
		return nil, usagef("--sqlite-fraction must be between 0 and 1")
	}
	return f, nil
}

// config is the fleet run the flags ask for.
func (f *simulateFlags) config() (simulations.Config, error) {
	cfg := f.Config
	var errs [3]error
	cfg.Faults, errs[0] = simulations.ParseFaults(f.faults)
	cfg.Strategies, errs[1] = simulations.ParseStrategies(f.strategy)
	cfg.Profiles, errs[2] = simulations.ParseProfiles(f.profiles)
	for _, err := range errs {
		if err != nil {
			return cfg, usageErr(err)
		}
	}
	return cfg, nil
}

func runSimulate(ctx context.Context, e *env, args []string) error {
	defer simulations.RelaxRSAMinimum()()
	// A run's heap lives as long as the run: collecting it less often saves
	// a fifth of the CPU, and a soft limit keeps a large fleet's heap from
	// growing fivefold for it.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(4 << 30))
	f, err := parseSimulateFlags(e, args)
	if err != nil {
		return err
	}
	if f.replay != "" {
		return replayTrace(ctx, e, f)
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if isTerminal(e.stderr) {
		cfg.Progress = simulations.ProgressLine(e.stderr, cfg.Strategies)
	}
	flushReports := func() error { return nil }
	if f.reports != "" {
		file, err := os.Create(f.reports)
		if err != nil {
			return err
		}
		defer file.Close()
		reports := bufio.NewWriter(file)
		cfg.Reports = simulations.ReportWriter(reports)
		flushReports = func() error { return errors.Join(reports.Flush(), file.Close()) }
	}
	rep, err := simulations.Run(ctx, cfg)
	if err == nil {
		err = flushReports()
	}
	if err != nil {
		return err
	}
	switch f.format.String() {
	case "json":
		err = json.NewEncoder(e.stdout).Encode(rep)
	case "csv":
		err = simulations.WriteReportCSV(e.stdout, rep)
	default:
		err = simulations.WriteReportTable(e.stdout, rep)
	}
	if err == nil && f.svg != "" {
		err = writeOutput(f.svg, func(w io.Writer) error { return simulations.WriteSVG(w, rep) })
	}
	if err != nil {
		return err
	}
	return engineFailure(ctx, e, f, cfg, rep)
}

// engineFailure shrinks the engine's first violation, if any, to a trace,
// and says how to replay it.
func engineFailure(ctx context.Context, e *env, f *simulateFlags, cfg simulations.Config, rep *simulations.FleetReport) error {
	fail, err := simulations.EngineFailure(ctx, cfg, rep)
	if err != nil || fail == nil {
		return err
	}
	v, path := fail.Violation, f.trace
	if path == "" {
		tf, err := os.CreateTemp("", fmt.Sprintf("vitalsync-sim-%d-%d-*.jsonl", cfg.Seed, v.Install))
		if err != nil {
			return err
		}
		path = tf.Name()
		tf.Close()
	}
	if err := writeOutput(path, func(w io.Writer) error { return simulations.WriteTrace(w, fail.Solo, fail.Result.Records) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "engine broke %q: seed %d, installation %d, step %d (shrunk from %d steps to %d)\n",
		v.Kind, cfg.Seed, v.Install, v.Step, fail.Steps, len(fail.Solo.Steps))
	fmt.Fprintf(e.stderr, "trace: %s\nreplay: vitalsync simulate --replay %s\n", path, path)
	return fmt.Errorf("%w: %s at installation %d", errEngineViolation, v.Kind, v.Install)
}

// replayTrace replays a trace and prints its steps.
func replayTrace(ctx context.Context, e *env, f *simulateFlags) error {
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
	switch f.format.String() {
	case "json":
		err = simulations.WriteRecordsJSON(e.stdout, res.Records)
	case "csv":
		err = simulations.WriteRecordsCSV(e.stdout, res.Records)
	default:
		err = simulations.WriteRecordsTable(e.stdout, solo, res.Records, display)
	}
	if err != nil {
		return err
	}
	if len(res.Violations) > 0 && solo.Strategy == (simulations.Engine{}).Name() {
		return fmt.Errorf("%w: %s", errReplayViolation, res.Violations[0].Kind)
	}
	return nil
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
