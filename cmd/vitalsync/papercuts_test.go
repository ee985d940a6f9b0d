package main

import (
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
