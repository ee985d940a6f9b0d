package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// vitalsync conformance passes the Go engine (this test binary, re-run as
// vitalsync conformance-engine) and exits 0; a vector it does not follow
// fails the run with exit 1, naming the case and its replay.
func TestConformanceCommand(t *testing.T) {
	t.Setenv(envChild, `["conformance-engine"]`)
	engine := shellQuoteTest(os.Args[0])
	out, errOut, code := runCLI("", "conformance", "--engine", engine, "--suite", "plan,runner")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "PASS plan rules.txt:")
	require.Contains(t, out, "PASS runner crash.txt:")
	require.Contains(t, out, "vitalsync-go")
	require.NotContains(t, out, "FAIL")

	// A team's own planner vectors: one of them wrong.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "conformance", "testdata", "vectors", "plan.json"))
	require.NoError(t, err)
	var f map[string]any
	require.NoError(t, json.Unmarshal(data, &f))
	cases := f["cases"].([]any)
	c := cases[0].(map[string]any)
	c["expect"].(map[string]any)["discrepancy"] = "wrong-user"
	f["cases"] = cases[:2]
	data, err = json.Marshal(f)
	require.NoError(t, err)
	path := filepath.Join(dir, "mine.json")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	out, _, code = runCLI("", "conformance", "--engine", engine, "--vectors", path)
	require.Equal(t, 1, code)
	name := c["name"].(string)
	require.Contains(t, out, "FAIL plan "+name+"\n")
	require.Contains(t, out, "replay: vitalsync conformance --engine ")
	require.Contains(t, out, "--vectors "+path+" --suite plan --case "+name)
	require.Equal(t, 2, strings.Count(out, "PASS plan ")+strings.Count(out, "FAIL plan "), out)

	out, _, code = runCLI("", "conformance", "--engine", engine, "--vectors", path, "--format", "json")
	require.Equal(t, 1, code)
	var sum struct {
		Passed, Failed int
		Cases          []struct{ Name, Status, Replay string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, 1, sum.Passed)
	require.Equal(t, 1, sum.Failed)
	require.Equal(t, "fail", sum.Cases[0].Status)

	_, errOut, code = runCLI("", "conformance")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--engine")
	_, _, code = runCLI("", "conformance", "--engine", engine, "--suite", "nope")
	require.Equal(t, 1, code)
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"kind":"plan","cases":[{"name":"x"}]}`), 0o644))
	_, errOut, code = runCLI("", "conformance", "--engine", engine, "--vectors", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid vectors")
}

// vitalsync vectors writes what is committed.
func TestVectorsCommand(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runCLI("", "vectors", "--out", dir, "--testdata", filepath.Join("..", "..", "reconcile", "testdata"))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "planner cases")
	for _, n := range []string{"plan.json", "runner.json", "profiles.json"} {
		got, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join("..", "..", "conformance", "testdata", "vectors", n))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), n)
	}
	_, _, code = runCLI("", "vectors")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "vectors", "--out", dir, "--testdata", t.TempDir())
	require.Equal(t, 1, code)
}

func shellQuoteTest(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
