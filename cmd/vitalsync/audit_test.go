package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
)

const fleetNowFlag = "2026-11-20T00:00:00Z"

func readTruth(t *testing.T, path string) audit.Truth {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var tr audit.Truth
	require.NoError(t, json.Unmarshal(data, &tr))
	return tr
}

// fleet generate writes a fleet and its ground truth; audit finds exactly
// that truth from a real SQLite file, CSV and JSONL.
func TestFleetGenerateThenAudit(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"db", "csv", "jsonl"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(dir, "fleet."+kind)
			out, errOut, code := runCLI("", "fleet", "generate", "--installs", "3000", "--seed", "4",
				"--now", fleetNowFlag, "--"+kind, path)
			require.Zero(t, code, errOut)
			require.Contains(t, out, "wrote 3000 installations")
			truth := readTruth(t, path+".truth.json")

			findings := filepath.Join(dir, kind+".findings.jsonl")
			out, errOut, code = runCLI("", "audit", "--"+kind, path, "--format", "json", "--stale", "720h",
				"--now", fleetNowFlag, "--out", findings)
			require.Zero(t, code, errOut)
			var sum audit.Summary
			require.NoError(t, json.Unmarshal([]byte(out), &sum))
			require.Equal(t, truth.Rows, sum.Rows)
			require.Equal(t, truth.Classes, sum.Classes)
			require.Equal(t, truth.ByProfile, sum.ByProfile)
			require.Empty(t, errOut, "progress only on a terminal")

			// --out: one JSON object per finding, with the documented keys.
			f, err := os.Open(findings)
			require.NoError(t, err)
			defer f.Close()
			sc := bufio.NewScanner(f)
			var n, wrongUser int64
			for sc.Scan() {
				var fd struct {
					InstallationID string `json:"installation_id"`
					Profile        string `json:"profile"`
					Class          string `json:"class"`
					Actions        []struct {
						Type        string `json:"type"`
						VitalUserID string `json:"vital_user_id"`
					} `json:"actions"`
					Reason string `json:"reason"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &fd))
				require.NotEmpty(t, fd.Class)
				require.NotEmpty(t, fd.Reason)
				if fd.Class == "wrong-user" {
					wrongUser++
					require.Len(t, fd.Actions, 2)
					require.Equal(t, "sign-out", fd.Actions[0].Type)
					require.NotEmpty(t, fd.Actions[1].VitalUserID)
				}
				n++
			}
			require.NoError(t, sc.Err())
			require.NotZero(t, n)
			require.Equal(t, truth.Classes["wrong-user"], wrongUser)
		})
	}
}

func TestAuditFailOnAndTable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "2000", "--seed", "9", "--now", fleetNowFlag, "--csv", path)
	require.Zero(t, code, errOut)

	out, errOut, code := runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--fail-on", "wrong-user,invalid")
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "fail-on")
	// The table leads with the worst class.
	classes := out[strings.Index(out, "class"):]
	require.Less(t, strings.Index(classes, "wrong-user"), strings.Index(classes, "consistent"))

	outCSV := filepath.Join(dir, "findings.csv")
	_, _, code = runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--fail-on", "diverged", "--out", outCSV)
	require.Zero(t, code)
	f, err := os.Open(outCSV)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"installation_id", "line", "profile", "class", "classes", "actions", "reason"}, recs[0])
	require.Greater(t, len(recs), 100)
	var wrong int
	for _, r := range recs[1:] {
		if r[3] == "wrong-user" {
			wrong++
			require.True(t, strings.HasPrefix(r[5], "sign-out; sign-in:"), r[5])
		}
	}
	require.NotZero(t, wrong)

	out, _, code = runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--format", "csv")
	require.Zero(t, code)
	require.True(t, strings.HasPrefix(out, "kind,profile,key,count\nrows,,,2000\n"), out)
	_, _, code = runCLI("", "audit", "--csv", path, "--fail-on", "nonsense")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", path, "--jsonl", path)
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", path, "--shard", "3/3")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", filepath.Join(dir, "missing.csv"))
	require.Equal(t, 1, code)
}

// Shards of one fleet merge to the whole audit.
func TestAuditShardsMerge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.jsonl")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "2000", "--seed", "5", "--now", fleetNowFlag, "--jsonl", path)
	require.Zero(t, code, errOut)
	truth := readTruth(t, path+".truth.json")
	var parts []string
	for k := range 4 {
		out, errOut, code := runCLI("", "audit", "--jsonl", path, "--now", fleetNowFlag, "--stale", "720h",
			"--shard", strings.Join([]string{string(rune('0' + k)), "4"}, "/"), "--format", "json")
		require.Zero(t, code, errOut)
		p := filepath.Join(dir, "shard"+string(rune('0'+k))+".json")
		require.NoError(t, os.WriteFile(p, []byte(out), 0o600))
		parts = append(parts, p)
	}
	out, errOut, code := runCLI("", append([]string{"audit", "merge", "--format", "json"}, parts...)...)
	require.Zero(t, code, errOut)
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, truth.Rows, sum.Rows)
	require.Equal(t, truth.Classes, sum.Classes)
}

// A database of a newer schema is refused before the first row.
func TestAuditNewerSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.db")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "10", "--db", path)
	require.Zero(t, code, errOut)
	rawSQL(t, path, "PRAGMA user_version = 99")
	out, errOut, code := runCLI("", "audit", "--db", path)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "newer")
	require.Empty(t, out)
}
