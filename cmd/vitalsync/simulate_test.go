package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/simulations"
)

var smallFleet = []string{"simulate", "--installs", "40", "--launches", "15", "--seed", "9", "--sqlite-fraction", "0"}

func TestSimulateFormats(t *testing.T) {
	out, _, code := runCLI("", smallFleet...)
	require.Zero(t, code, out)
	for _, s := range simulations.Strategies() {
		require.Contains(t, out, s.Name())
	}
	require.Contains(t, out, "seed 9: 40 installations × 15 launches")
	require.Contains(t, out, "finding: docs-recipe")
	require.NotContains(t, out, "FAILURE")
	require.NotRegexp(t, `\de[+-]\d`, out, "the tables print plain numbers")
	again, _, _ := runCLI("", smallFleet...)
	require.Equal(t, out, again, "the same seed and flags print the same bytes")

	out, _, code = runCLI("", append(smallFleet, "--format", "json")...)
	require.Zero(t, code)
	var rep struct {
		Seed       uint64 `json:"seed"`
		Installs   int    `json:"installs"`
		Launches   int    `json:"launches"`
		Strategies []struct {
			Name          string            `json:"name"`
			ConsistentPct *float64          `json:"consistent_pct"`
			P50           *float64          `json:"launches_to_converge_p50"`
			P99           *float64          `json:"launches_to_converge_p99"`
			WrongUser     *float64          `json:"wrong_user_seconds"`
			DataGap       *float64          `json:"data_gap_seconds"`
			Needless      *int              `json:"needless_sign_outs"`
			Mints         *float64          `json:"mints_per_1000_launches"`
			Calls         *float64          `json:"network_calls_per_launch"`
			Violations    []json.RawMessage `json:"violations"`
		} `json:"strategies"`
		Coverage map[string]json.RawMessage `json:"coverage"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, uint64(9), rep.Seed)
	require.Equal(t, 40, rep.Installs)
	require.Len(t, rep.Strategies, 4)
	require.Equal(t, "engine", rep.Strategies[0].Name)
	for _, s := range rep.Strategies {
		require.NotNil(t, s.ConsistentPct)
		require.NotNil(t, s.P50)
		require.NotNil(t, s.P99)
		require.NotNil(t, s.WrongUser)
		require.NotNil(t, s.DataGap)
		require.NotNil(t, s.Needless)
		require.NotNil(t, s.Mints)
		require.NotNil(t, s.Calls)
		require.NotNil(t, s.Violations)
	}
	require.Contains(t, rep.Coverage, "missing")

	out, _, code = runCLI("", append(smallFleet, "--format", "csv", "--strategy", "engine,identify")...)
	require.Zero(t, code)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Equal(t, simulations.ReportColumns, rows[0])
	require.Equal(t, "engine", rows[1][0])
	require.Equal(t, "identify", rows[2][0])
}

func TestSimulateSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.svg")
	_, _, code := runCLI("", append(smallFleet, "--svg", path, "--strategy", "engine,every-launch")...)
	require.Zero(t, code)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "<svg "))
	require.Equal(t, 2, strings.Count(string(b), "<polyline"))
	require.Equal(t, 2, strings.Count(string(b), `class="strategy"`), "the trade-off chart has a point per strategy")
	require.Contains(t, string(b), "every-launch")
}

func TestSimulateUnknownNames(t *testing.T) {
	for flag, value := range map[string]string{"--faults": "5xx,meteor", "--strategy": "guess",
		"--profiles": "ios-9.9", "--format": "yaml"} {
		_, stderr, code := runCLI("", "simulate", "--installs", "1", "--launches", "1", flag, value)
		require.Equal(t, 2, code, flag)
		bad := value
		if i := strings.LastIndex(value, ","); i >= 0 {
			bad = value[i+1:]
		}
		require.Contains(t, stderr, bad, flag)
	}
	_, _, code := runCLI("", "simulate", "--installs", "0")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "simulate", "extra")
	require.Equal(t, 2, code)
}

func TestSimulateReplay(t *testing.T) {
	ctx := context.Background()
	s, err := simulations.Install(simulations.Config{Seed: 9, Installs: 40, Launches: 15}, 3, "engine")
	require.NoError(t, err)
	res, err := simulations.RunSolo(ctx, s, "")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, simulations.WriteTrace(&buf, s, res.Records))
	dir := t.TempDir()
	path := filepath.Join(dir, "t.jsonl")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))

	out, _, code := runCLI("", "simulate", "--replay", path)
	require.Zero(t, code, out)
	require.Contains(t, out, "steps replayed identically")
	require.Contains(t, out, "(faults stopped)")

	out, _, code = runCLI("", "simulate", "--replay", path, "--format", "json")
	require.Zero(t, code)
	require.Equal(t, len(s.Steps), strings.Count(out, "\n"))
	var first simulations.Record
	require.NoError(t, json.Unmarshal([]byte(out[:strings.Index(out, "\n")]), &first))
	require.Equal(t, res.Records[0], first)

	out, _, code = runCLI("", "simulate", "--replay", path, "--format", "csv")
	require.Zero(t, code)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(s.Steps)+1)
	require.Equal(t, res.Records[len(res.Records)-1].Judged, rows[len(rows)-1][7])

	// A foreign file is a usage error that says what is wrong; an edited
	// trace replays differently and fails.
	foreign := filepath.Join(dir, "f.jsonl")
	require.NoError(t, os.WriteFile(foreign, []byte(`{"hello":"world"}`+"\n"), 0o600))
	_, stderr, code := runCLI("", "simulate", "--replay", foreign)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "not a valid trace")
	edited := filepath.Join(dir, "e.jsonl")
	require.NoError(t, os.WriteFile(edited, bytes.Replace(buf.Bytes(), []byte(`"judged":"consistent"`),
		[]byte(`"judged":"wrong-user"`), 1), 0o600))
	_, stderr, code = runCLI("", "simulate", "--replay", edited)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "replay differs")
	_, _, code = runCLI("", "simulate", "--replay", filepath.Join(dir, "missing.jsonl"))
	require.Equal(t, 1, code)
}

// TestSimulateEngineFailure: an engine violation exits 1, prints the seed,
// the installation and the replay command, and writes a trace that
// replays.
func TestSimulateEngineFailure(t *testing.T) {
	cfg := simulations.Config{Seed: 9, Installs: 40, Launches: 15}
	rep := &simulations.FleetReport{Seed: 9, Strategies: []simulations.StrategyStats{{Name: "engine",
		ViolationCount: 1, Violations: []simulations.Violation{{Install: 7, Step: 3, Kind: simulations.ViolationWrongUser}}}}}
	path := filepath.Join(t.TempDir(), "fail.jsonl")
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut}
	err := engineFailure(context.Background(), e, &simulateFlags{trace: path}, cfg, rep)
	require.ErrorIs(t, err, errEngineViolation)
	require.Equal(t, 1, exitCode(err, &bytes.Buffer{}))
	require.Contains(t, errOut.String(), "seed 9, installation 7")
	require.Contains(t, errOut.String(), "vitalsync simulate --replay "+path)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	solo, _, err := simulations.Replay(context.Background(), f, "")
	require.NoError(t, err)
	require.Equal(t, 7, solo.Install)

	// No engine violation, no failure.
	rep.Strategies[0].Violations = nil
	errOut.Reset()
	require.NoError(t, engineFailure(context.Background(), e, &simulateFlags{}, cfg, rep))
	require.Empty(t, errOut.String())
}

// simulate --reports writes the fleet's final installation reports in the
// public schema; the audit reads them and finds what the simulation found:
// every engine installation consistent.
func TestSimulateReportsAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reports.jsonl")
	_, stderr, code := runCLI("", "simulate", "--installs", "120", "--launches", "12", "--seed", "5",
		"--strategy", "engine", "--format", "json", "--reports", path)
	require.Zero(t, code, stderr)
	out, stderr, code := runCLI("", "audit", "--jsonl", path, "--format", "json")
	require.Zero(t, code, stderr)
	var sum struct {
		Rows    int64            `json:"rows"`
		Classes map[string]int64 `json:"classes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, int64(120), sum.Rows)
	require.Equal(t, map[string]int64{"consistent": 120}, sum.Classes)
}
