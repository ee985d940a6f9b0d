package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "2h": 2 * time.Hour, "0": 0,
		"30d": 30 * 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "-1d": -24 * time.Hour,
		"720h": 720 * time.Hour, "1h30m": 90 * time.Minute,
	} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, "parseDuration(%q)", in)
	}
	for _, in := range []string{"", "5", "30", "2.5", "d", "30 d", "1d-1h", "1dd", "xd", "1e3d", "infd", "soon", "1d1"} {
		_, err := parseDuration(in)
		require.ErrorIs(t, err, errBadDuration, "parseDuration(%q)", in)
		require.Contains(t, err.Error(), "30d", "%q: the message says the accepted forms", in)
	}
}

// A duration flag takes days, and a bad one names the accepted forms, not
// "parse error" and the whole flag list.
func TestDurationFlagsTakeDaysAndSayTheForms(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "20", "--seed", "1", "--csv", csv)
	require.Zero(t, code, errOut)
	out30d, errOut, code := runCLI("", "audit", "--csv", csv, "--stale", "30d", "--now", fleetNowFlag, "--format", "json")
	require.Zero(t, code, errOut)
	out720h, _, _ := runCLI("", "audit", "--csv", csv, "--stale", "720h", "--now", fleetNowFlag, "--format", "json")
	require.Equal(t, dropSeconds(out720h), dropSeconds(out30d), "30d is 720h")

	for _, args := range [][]string{
		{"audit", "--csv", csv, "--stale", "thirty"},
		{"serve", "--shutdown-timeout", "5"},
		{"emulator", "--token-ttl", "1"},
	} {
		_, errOut, code := runCLI("", args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, errOut, "e.g. 90s, 15m, 2h, 30d", "%v: %s", args, errOut)
		require.NotContains(t, errOut, "parse error")
		require.Contains(t, errOut, "Run 'vitalsync help "+args[0]+"' for its flags.")
		require.Less(t, strings.Count(errOut, "\n"), 7, "%v: no flag list after an error:\n%s", args, errOut)
		require.Equal(t, 1, strings.Count(errOut, "not a duration"), "the error once")
	}
	help, _, code := runCLI("", "help", "audit")
	require.Zero(t, code)
	require.Contains(t, help, "-stale duration")
	require.Contains(t, help, "a duration such as 90s, 15m, 2h or 30d")
}

// dropSeconds removes the timing lines of an audit's JSON summary.
func dropSeconds(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, `"seconds"`) && !strings.Contains(l, `"rows_per_second"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestExitCodeTable checks docs/reference/exit-codes.md: every command has
// a row, every command exits 2 on an unknown flag, and the table's
// examples exit as it says.
func TestExitCodeTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "reference", "exit-codes.md"))
	require.NoError(t, err)
	for name := range commands {
		require.Contains(t, string(doc), "| `"+name+"` |", "the table has a row for %s", name)
		_, errOut, code := runCLI("", name, "--no-such-flag")
		require.Equal(t, 2, code, "%s --no-such-flag: %s", name, errOut)
	}
	require.Contains(t, string(doc), "| `audit merge` |")

	dir := t.TempDir()
	csv := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "40", "--seed", "3", "--csv", csv)
	require.Zero(t, code, errOut)
	jsonl := filepath.Join(dir, "fleet.jsonl")
	_, errOut, code = runCLI("", "fleet", "generate", "--installs", "5", "--seed", "3", "--jsonl", jsonl)
	require.Zero(t, code, errOut)
	summary := filepath.Join(dir, "summary.json")
	out, errOut, code := runCLI("", "audit", "--csv", csv, "--format", "json", "--now", fleetNowFlag, "--stale", "30d")
	require.Zero(t, code, errOut)
	require.NoError(t, os.WriteFile(summary, []byte(out), 0o600))
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(testSessionSecret), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	for _, tc := range []struct {
		code    int
		args    []string
		message string // in stderr
	}{
		{0, []string{"--version"}, ""},
		{0, []string{"help", "help"}, ""},
		{1, []string{"audit", "--csv", filepath.Join(dir, "missing.csv")}, "no such file"},
		{1, []string{"audit", "merge", filepath.Join(dir, "missing.json")}, "no such file"},
		{1, []string{"emulator", "--import", filepath.Join(dir, "missing.json"), "--addr", "127.0.0.1:0"}, "no such file"},
		{2, []string{"audit", "--jsonl", csv}, "give it as --csv"},
		{2, []string{"audit", "--csv", jsonl}, "give it as --jsonl"},
		{2, []string{"audit", "--db", csv}, "give it as --csv"},
		{2, []string{"audit", "merge", csv + ".truth.json"}, "ground-truth file"},
		{2, []string{"audit", "merge", csv}, "audit it with --csv"},
		{2, []string{"serve", "--emulator", "--db", csv, "--session-secret-file", secret}, "not a SQLite database"},
		{2, []string{"serve", "--emulator", "--db", filepath.Join(dir, "i.db"), "--session-secret-file", secret, "--addr", "nonsense"}, "give HOST:PORT"},
		{2, []string{"emulator", "--addr", "127.0.0.1:99999"}, "give HOST:PORT"},
		{2, []string{"plan"}, "the input is empty"},
		{2, []string{"audit", "--csv", empty}, "is empty"},
		{2, []string{"audit", "--jsonl", empty}, "is empty"},
		{2, []string{"audit", "merge", empty}, "is empty"},
		{2, []string{"emulator", "--import", empty, "--addr", "127.0.0.1:0"}, "is empty"},
		{2, []string{"device", "--db", csv, "--profile", "ios-1.8", "status"}, "the audit reads it: vitalsync audit --csv"},
		{2, []string{"emulator", "--import", csv, "--addr", "127.0.0.1:0"}, "not an emulator state"},
		{2, []string{"audit", "--csv", csv, "--stale", "30"}, "30d"},
		{3, []string{"audit", "--csv", csv, "--now", fleetNowFlag, "--fail-on", "consistent"}, "consistent"},
		// Flags after the files, as the docs' Job writes it.
		{3, []string{"audit", "merge", summary, summary, "--fail-on", "consistent"}, "consistent"},
		{0, []string{"audit", "merge", summary, "--format", "json", summary}, ""},
	} {
		_, errOut, code := runCLI("", tc.args...)
		require.Equal(t, tc.code, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.message, "%v", tc.args)
	}
}

func TestVersionFlagAndHelp(t *testing.T) {
	v, _, code := runCLI("", "version")
	require.Zero(t, code)
	out, _, code := runCLI("", "--version")
	require.Zero(t, code)
	require.Equal(t, v, out)

	out, _, code = runCLI("", "help", "help")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync <command> [flags]")
	require.Contains(t, out, "docs/reference/exit-codes.md")

	// help CMD SUB is CMD SUB --help: the subcommand's flags.
	out, _, code = runCLI("", "help", "fleet", "generate")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync fleet generate --installs N")
	require.Contains(t, out, "-installs int")
	out, _, code = runCLI("", "fleet", "generate", "--help")
	require.Zero(t, code)
	require.NotContains(t, out, "generate generate")
	out, _, code = runCLI("", "help", "audit", "merge")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync audit merge [--format table|json|csv] [--fail-on CLASS,…] FILE…", "flags first, as the parser reads them")
	require.Contains(t, out, "-fail-on")
}

func TestDemoTwiceInOneDirWarns(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := runCLI("", "demo", "--dir", dir)
	require.Zero(t, code, errOut)
	require.NotContains(t, errOut, "warning")
	_, errOut, code = runCLI("", "demo", "--dir", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, errOut, "already holds issuer.db and device.db from an earlier run")

	// The demo's device file is not an issuer database: serve refuses it,
	// naming the commands that read it; the issuer's file passes the check.
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte(testSessionSecret), 0o600))
	_, errOut, code = runCLI("", "serve", "--emulator", "--db", filepath.Join(dir, "device.db"), "--session-secret-file", secret)
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "is a device file")
	require.Contains(t, errOut, "vitalsync launch --db")
	require.NoError(t, checkNotDeviceFile(context.Background(), filepath.Join(dir, "issuer.db")))
	require.NoError(t, checkNotDeviceFile(context.Background(), filepath.Join(dir, "new.db")), "a new file is fine")
}
