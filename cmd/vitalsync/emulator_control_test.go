package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// emulatorAPI is a small client of a running "vitalsync emulator".
type emulatorAPI struct {
	t    *testing.T
	base string
	key  string
}

func (a emulatorAPI) do(method, path, body string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	require.NoError(a.t, err)
	req.Header.Set("X-Vital-API-Key", a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	return resp.StatusCode, raw
}

func (a emulatorAPI) createUser(clientUserID string) string {
	a.t.Helper()
	status, body := a.do("POST", "/v2/user", `{"client_user_id":"`+clientUserID+`"}`)
	require.Equal(a.t, http.StatusOK, status, "body %s", body)
	var k junction.UserKey
	require.NoError(a.t, json.Unmarshal(body, &k))
	return k.UserID
}

func (a emulatorAPI) mint(userID string) string {
	a.t.Helper()
	status, body := a.do("POST", "/v2/user/"+userID+"/sign_in_token", "")
	require.Equal(a.t, http.StatusOK, status, "body %s", body)
	var st junction.SignInTokenResponse
	require.NoError(a.t, json.Unmarshal(body, &st))
	return st.SignInToken
}

func (a emulatorAPI) exchange(signInToken string) (int, junction.TokenResponse) {
	a.t.Helper()
	tok, err := junction.DecodeSignInToken(signInToken, junction.DecodeOptions{})
	require.NoError(a.t, err)
	resp, err := http.PostForm(a.base+"/auth/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {tok.UserToken}})
	require.NoError(a.t, err)
	var tr junction.TokenResponse
	_ = decodeEmulatorJSON(resp, &tr)
	return resp.StatusCode, tr
}

// vs runs the CLI and returns stdout, stderr and the error.
func vs(args ...string) (string, string, error) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestEmulatorSubcommandsSteerARunningEmulator(t *testing.T) {
	printed, cancel, done, stderr := startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--log-format", "json")
	base := printed["API base URL"]
	require.Equal(t, base+"/_emulator/ui", printed["Web UI"])
	api := emulatorAPI{t, base, printed["API key"]}
	var secrets emulatortest.Secrets
	secrets.Add(api.key)
	require.Regexp(t, `^[0-9a-f]{64}$`, printed["Control token"])

	out, _, err := vs("emulator", "health", "--url", base)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "ok, emulator clock "), out)

	// Without the token (and none left for this user), a change is a
	// usage error and nothing is sent; with a wrong one, the emulator
	// refuses it.
	runtimeDir := os.Getenv(emulatorclient.EnvRuntimeDir)
	t.Setenv(emulatorclient.EnvRuntimeDir, t.TempDir())
	_, _, err = vs("emulator", "reset", "--url", base)
	require.ErrorIs(t, err, errNoControlToken)
	require.Equal(t, 2, exitCode(err, &strings.Builder{}), "%v", err)
	// The running emulator left its token for its user: found.
	t.Setenv(emulatorclient.EnvRuntimeDir, runtimeDir)
	_, _, err = vs("emulator", "clear-faults", "--url", base)
	require.NoError(t, err)
	t.Setenv(envControlToken, strings.Repeat("0", 64))
	_, _, err = vs("emulator", "reset", "--url", base)
	var refused *emulatorclient.Error
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusForbidden, refused.Status)
	t.Setenv(envControlToken, printed["Control token"])

	// fail: the next two creations answer 503, the third works.
	out, _, err = vs("emulator", "fail", "--route", "create-user", "--status", "503", "--count", "2", "--url", base)
	require.NoError(t, err)
	require.Equal(t, "create-user (POST /v2/user): 2× fail 503\n", out)
	for range 2 {
		status, _ := api.do("POST", "/v2/user", `{"client_user_id":"alice"}`)
		require.Equal(t, http.StatusServiceUnavailable, status)
	}
	alice := api.createUser("alice")
	st := api.mint(alice)
	secrets.Add(st)
	status, tok := api.exchange(st)
	require.Equal(t, http.StatusOK, status)
	secrets.Add(tok.AccessToken, tok.RefreshToken)

	// revoke: the refresh needs reauthentication.
	out, _, err = vs("emulator", "revoke", "--user", alice, "--url", base)
	require.NoError(t, err)
	require.Contains(t, out, "revoked 1")
	resp, err := http.PostForm(base+"/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	require.NoError(t, err)
	var body struct {
		Detail junction.ErrorDetail `json:"detail"`
	}
	require.NoError(t, decodeEmulatorJSON(resp, &body))
	require.Equal(t, junction.ErrorTypeReauthRequired, body.Detail.ErrorType)

	// expire-access, advance, state.
	_, _, err = vs("emulator", "expire-access", "--user", alice, "--url", base)
	require.NoError(t, err)
	out, _, err = vs("emulator", "advance", "--by", "2h", "--url", base)
	require.NoError(t, err)
	require.Contains(t, out, "advanced 2h0m0s in all")
	status, _ = api.exchange(st)
	require.Equal(t, http.StatusBadRequest, status, "the Sign-In Token expired on the advanced clock")
	out, _, err = vs("emulator", "state", "--url", base)
	require.NoError(t, err)
	require.Contains(t, out, alice+"  alice")
	require.Contains(t, out, "0 valid, 1 expired")
	require.Contains(t, out, "1 Sign-In Tokens minted")
	out, _, err = vs("emulator", "state", "--format", "json", "--url", base)
	require.NoError(t, err)
	var o emulator.Overview
	require.NoError(t, json.Unmarshal([]byte(out), &o))
	require.Len(t, o.Users, 1)
	secrets.Check(t, "state", out)

	// delete-user, then the API says the user is gone; a second delete is
	// refused by the emulator: exit 1 with its message.
	_, _, err = vs("emulator", "delete-user", "--user", alice, "--url", base)
	require.NoError(t, err)
	status, _ = api.do("GET", "/v2/user/"+alice, "")
	require.Equal(t, http.StatusNotFound, status)
	_, _, err = vs("emulator", "delete-user", "--user", alice, "--url", base)
	require.ErrorIs(t, err, emulatorclient.ErrRefused)
	var cpe *emulatorclient.Error
	require.True(t, errors.As(err, &cpe))
	require.Equal(t, http.StatusNotFound, cpe.Status)
	require.Equal(t, 1, exitCode(err, &strings.Builder{}))

	// undo-delete restores her within the grace period.
	out, _, err = vs("emulator", "undo-delete", "--user", alice, "--url", base)
	require.NoError(t, err)
	require.Contains(t, out, alice)
	status, _ = api.do("GET", "/v2/user/"+alice, "")
	require.Equal(t, http.StatusOK, status)

	// A real Vital path that is not emulated says so.
	status, raw := api.do("GET", "/v2/summary/sleep/"+alice, "")
	require.Equal(t, http.StatusNotImplemented, status)
	require.Contains(t, string(raw), "not emulated: GET /v2/summary/sleep/"+alice)

	_, _, err = vs("emulator", "reset", "--url", base)
	require.NoError(t, err)
	status, _ = api.do("GET", "/v2/user/resolve/alice", "")
	require.Equal(t, http.StatusNotFound, status)

	cancel()
	require.NoError(t, waitRun(t, done))

	// One JSON log line per request, with method, path, status, latency and
	// route, and no secret.
	log := stderr.String()
	secrets.Check(t, "the log", log)
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "a JSON line: %s", sc.Text())
		if line["msg"] == "request" {
			lines = append(lines, line)
		}
	}
	require.NotEmpty(t, lines)
	first := lines[0]
	require.Equal(t, "GET", first["method"])
	require.Equal(t, "/_emulator/health", first["path"])
	require.Equal(t, float64(200), first["status"])
	require.Equal(t, "control-health", first["route"])
	require.Contains(t, first, "latency")
	var creates []float64
	for _, l := range lines {
		if l["route"] == "create-user" {
			creates = append(creates, l["status"].(float64))
		}
	}
	require.Equal(t, []float64{503, 503, 200}, creates)
}

func TestEmulatorSubcommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"emulator", "explode"},
		{"emulator", "fail", "--route", "nope", "--status", "503"},
		{"emulator", "fail", "--route", "create-user"},
		{"emulator", "fail", "--route", "create-user", "--status", "200"},
		{"emulator", "fail", "--route", "create-user", "--status", "503", "--count", "0"},
		{"emulator", "delay", "--route", "create-user"},
		{"emulator", "rate-limit", "--route", "token", "--retry-after", "-1s"},
		{"emulator", "revoke"},
		{"emulator", "advance"},
		{"emulator", "advance", "--by", "-1h"},
		{"emulator", "state", "--url", "ftp://x"},
		{"emulator", "state", "--format", "xml"},
		{"emulator", "state", "extra"},
		{"emulator", "--seed-users", "-1"},
		{"emulator", "--log-format", "xml"},
	} {
		_, _, err := vs(args...)
		var ue *usageError
		require.True(t, errors.As(err, &ue), "%v: err = %v", args, err)
	}
	// Nothing listens there: a failure naming the cause, not a usage error.
	_, _, err := vs("emulator", "health", "--url", "http://127.0.0.1:1")
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, &strings.Builder{}))
}

func TestEmulatorDataSurvivesARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--data", dir, "--seed-users", "3")
	require.Equal(t, filepath.Join(dir, "emulator.json"), printed["State file"])
	api := emulatorAPI{t, printed["API base URL"], printed["API key"]}
	alice := api.createUser("alice")
	st := api.mint(alice)
	_, tok := api.exchange(st)
	bob := api.createUser("bob")
	status, _ := api.do("DELETE", "/v2/user/"+bob, "")
	require.Equal(t, http.StatusOK, status)
	info, err := os.Stat(filepath.Join(dir, "emulator.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the state holds secrets")
	cancel()
	require.NoError(t, waitRun(t, done))

	// Restart on the same directory, seeding again: nothing is duplicated.
	printed, cancel, done, _ = startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--data", dir, "--seed-users", "3")
	require.Equal(t, api.key, printed["API key"], "the team's key is kept")
	api.base = printed["API base URL"]
	status, raw := api.do("GET", "/v2/user/resolve/alice", "")
	require.Equal(t, http.StatusOK, status, "body %s", raw)
	status, raw = api.do("GET", "/v2/user", "")
	require.Equal(t, http.StatusOK, status)
	var page struct {
		Total int `json:"total"`
	}
	require.NoError(t, json.Unmarshal(raw, &page))
	require.Equal(t, 4, page.Total, "three seeded users and alice; bob stays deleted")
	status, _ = api.exchange(st)
	require.Equal(t, http.StatusOK, status, "a Sign-In Token minted before the restart still verifies")
	resp, err := http.PostForm(api.base+"/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "refresh sessions survive")
	status, _ = api.do("POST", "/v2/user/undo_delete?user_id="+bob, "")
	require.Equal(t, http.StatusOK, status, "a deleted user is restorable after the restart")
	cancel()
	require.NoError(t, waitRun(t, done))

	// A contradicting identity flag is refused before anything is served.
	_, _, err = vs("emulator", "--addr", "127.0.0.1:0", "--data", dir, "--api-key", "sk_us_other")
	require.ErrorIs(t, err, errStateConflict)
	require.NotContains(t, err.Error(), api.key)
}

func TestEmulatorImportAndExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--seed-users", "2", "--export-on-exit", first)
	api := emulatorAPI{t, printed["API base URL"], printed["API key"]}
	api.exchange(api.mint(api.createUser("alice")))
	cancel()
	require.NoError(t, waitRun(t, done))

	second := filepath.Join(dir, "second.json")
	printed, cancel, done, _ = startEmulator(t, "--addr", "127.0.0.1:0", "--import", first, "--export-on-exit", second)
	require.NotEqual(t, api.key, printed["API key"], "masked")
	cancel()
	require.NoError(t, waitRun(t, done))
	a, err := os.ReadFile(first)
	require.NoError(t, err)
	b, err := os.ReadFile(second)
	require.NoError(t, err)
	// The clock's offset is the only thing that may differ, and nothing
	// advanced it.
	require.Equal(t, string(a), string(b), "import then export gives the same file")

	// A damaged --data file is refused, and left as it was.
	data := filepath.Join(dir, "data")
	require.NoError(t, os.MkdirAll(data, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(data, "emulator.json"), []byte(`{"version":1,`), 0o600))
	_, _, err = vs("emulator", "--addr", "127.0.0.1:0", "--data", data)
	require.ErrorIs(t, err, emulator.ErrInvalidState)
	kept, err := os.ReadFile(filepath.Join(data, "emulator.json"))
	require.NoError(t, err)
	require.Equal(t, `{"version":1,`, string(kept))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"version":9}`), 0o600))
	_, _, err = vs("emulator", "--addr", "127.0.0.1:0", "--import", filepath.Join(dir, "bad.json"))
	require.ErrorIs(t, err, emulator.ErrInvalidState)
}

func TestMaskKey(t *testing.T) {
	for key, want := range map[string]string{
		"sk_us_emulator_0123456789abcdef0123456789abcdef": "sk_us_…cdef",
		"pk_eu_0123456789abcdef":                          "pk_eu_…cdef",
		"sk_us_short":                                     "sk_us_…",
		"plainkeywithoutunderscores":                      "…ores",
		"":                                                "…",
	} {
		require.Equal(t, want, maskKey(key), "maskKey(%q)", key)
	}
}

func TestFlagAfterAnArgumentSaysSo(t *testing.T) {
	_, _, err := vs("plan", "observation.json", "--format", "json")
	require.ErrorIs(t, err, errFlagAfterArgument)
	require.Contains(t, err.Error(), "--format")
	require.Equal(t, 2, exitCode(err, &strings.Builder{}))
	// A secret-looking value after the flag is not echoed.
	_, _, err = vs("doctor", "x", "--db=secret-value")
	require.ErrorIs(t, err, errFlagAfterArgument)
	require.NotContains(t, err.Error(), "secret-value")
}

func TestHelpCommand(t *testing.T) {
	out, _, err := vs("help", "emulator")
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out, "usage: vitalsync emulator")
	require.Contains(t, out, "fail")
	_, _, err = vs("help", "frobnicate")
	var ue *usageError
	require.True(t, errors.As(err, &ue))
}

func TestVersion(t *testing.T) {
	out, _, err := vs("version")
	require.NoError(t, err)
	require.Contains(t, out, "go:       go1.")
	require.Contains(t, out, "sqlite:   3.")
	out, _, err = vs("version", "--format", "json")
	require.NoError(t, err)
	var v versionInfo
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "github.com/vitalsync/vitalsync", v.Module)
	require.NotEmpty(t, v.SQLite)

	// The VCS settings of a binary built from a checkout.
	got := buildVersion(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/vitalsync/vitalsync", Version: "v1.2.3"},
		Deps: []*debug.Module{{Path: "github.com/mattn/go-sqlite3", Version: "v1.14.53"}},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-28T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true)
	require.Equal(t, "v1.2.3", got.Version)
	require.Equal(t, "abc123", got.Revision)
	require.Equal(t, "2026-11-28T10:00:00Z", got.Time)
	require.True(t, got.Modified)
	require.Equal(t, "go1.26.0", got.Go)
	require.Equal(t, "github.com/mattn/go-sqlite3 v1.14.53", got.SQLiteDrive)
	require.Equal(t, "unknown", buildVersion(nil, false).Version)
}

func TestEmulatorSubcommandsTakeTheURLFromTheEnvironment(t *testing.T) {
	printed, _, _, _ := startEmulator(t, "--addr", "127.0.0.1:0")
	base := printed["API base URL"]

	t.Setenv(envEmulatorURL, base)
	out, _, err := vs("emulator", "health")
	require.NoError(t, err, "no --url: $%s names the emulator", envEmulatorURL)
	require.True(t, strings.HasPrefix(out, "ok, emulator clock "), out)

	// --url wins over the variable.
	t.Setenv(envEmulatorURL, "http://127.0.0.1:1")
	_, _, err = vs("emulator", "health", "--url", base)
	require.NoError(t, err)
	_, _, err = vs("emulator", "health")
	require.Error(t, err, "the variable's emulator is not there")

	// A variable that is no URL is a usage error naming it.
	t.Setenv(envEmulatorURL, "127.0.0.1:8787")
	_, _, err = vs("emulator", "health")
	var ue *usageError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Contains(t, err.Error(), "$"+envEmulatorURL)
}

// TestEmulatorDataWritesEachChangeNotTheWholeState: with a large state, a
// create appends one line to the log and leaves the snapshot alone (the
// whole state was rewritten on every POST before: 170-240 ms at 15 MB).
func TestEmulatorDataWritesEachChangeNotTheWholeState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--data", dir, "--seed-users", "5000")
	api := emulatorAPI{t, printed["API base URL"], printed["API key"]}
	snap, logFile := filepath.Join(dir, emulator.SnapshotFile), filepath.Join(dir, emulator.LogFile)
	before, err := os.Stat(snap)
	require.NoError(t, err)
	logBefore, err := os.Stat(logFile)
	require.NoError(t, err)
	alice := api.createUser("alice")
	after, err := os.Stat(snap)
	require.NoError(t, err)
	require.True(t, os.SameFile(before, after) && before.ModTime().Equal(after.ModTime()), "the snapshot is not rewritten")
	logAfter, err := os.Stat(logFile)
	require.NoError(t, err)
	require.Less(t, logAfter.Size()-logBefore.Size(), int64(1024), "one change, one short line")
	require.Contains(t, mustRead(t, logFile), alice, "the create is on disk before its answer")
	cancel()
	require.NoError(t, waitRun(t, done))
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
