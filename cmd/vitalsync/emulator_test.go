package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
)

func TestEmulatorCommandServesUntilCancelled(t *testing.T) {
	printed, cancel, done, stderr := startEmulator(t, "--addr", "127.0.0.1:0", "--show-key", "--team-id", "team-7", "--environment", "production", "--region", "eu")
	apiBase := printed["API base URL"]
	authBase := printed["Auth base URL"]
	key := printed["API key"]
	require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, apiBase, "the real bound port")
	require.Equal(t, apiBase+"/auth", authBase)
	require.True(t, strings.HasPrefix(key, "pk_eu_emulator_"), "key %q", key)
	require.Equal(t, "team-7", printed["Team ID"])
	require.Equal(t, "production eu", printed["Environment"])

	// A real request: create a user, mint a token, exchange it.
	req, err := http.NewRequest("POST", apiBase+"/v2/user", strings.NewReader(`{"client_user_id":"alice"}`))
	require.NoError(t, err)
	req.Header.Set("X-Vital-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var uk junction.UserKey
	require.NoError(t, decodeEmulatorJSON(resp, &uk))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	req, err = http.NewRequest("POST", apiBase+"/v2/user/"+uk.UserID+"/sign_in_token", nil)
	require.NoError(t, err)
	req.Header.Set("X-Vital-API-Key", key)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var st junction.SignInTokenResponse
	require.NoError(t, decodeEmulatorJSON(resp, &st))
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, fsm.Production, tok.Claims.Environment)
	require.Equal(t, fsm.EU, tok.Claims.Region)
	require.Equal(t, "team-7", tok.Claims.TeamID)

	resp, err = http.PostForm(authBase+"/v1/token", url.Values{
		"grant_type":         {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token":      {tok.UserToken},
	})
	require.NoError(t, err)
	var tr junction.TokenResponse
	require.NoError(t, decodeEmulatorJSON(resp, &tr))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 3600, tr.ExpiresIn)

	cancel()
	require.NoError(t, waitRun(t, done))
	_, err = http.Get(apiBase + "/v2/user")
	require.Error(t, err, "the server is shut down")
	require.NotContains(t, stderr.String(), key, "the key is never logged")
}

func TestEmulatorCommandFlags(t *testing.T) {
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0", "--api-key", "sk_us_mine", "--access-ttl", "90s", "--token-ttl", "1m")
	require.Equal(t, "sk_us_…", printed["API key"], "a short key is masked whole")
	require.Equal(t, "sandbox us", printed["Environment"])
	req, err := http.NewRequest("GET", printed["API base URL"]+"/v2/user", nil)
	require.NoError(t, err)
	req.Header.Set("x-vital-api-key", "sk_us_mine")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, waitRun(t, done))
}

func TestEmulatorCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"},
		{"--token-ttl", "soon"},
		{"--token-ttl", "0s"},
		{"--access-ttl", "10ms"},
		{"--environment", "staging"},
		{"--region", "ap"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"emulator"}, args...), strings.NewReader(""), &stdout, &stderr)
		var ue *usageError
		require.True(t, errors.As(err, &ue), "%v: err = %v", args, err)
		require.Equal(t, 2, exitCode(err, io.Discard), "%v", args)
		require.Empty(t, stdout.String(), "%v", args)
	}

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"emulator", "--help"}, strings.NewReader(""), &stdout, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, stdout.String(), "--access-ttl")
}

func TestEmulatorCommandListenError(t *testing.T) {
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0")
	u, err := url.Parse(printed["API base URL"])
	require.NoError(t, err)

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"emulator", "--addr", u.Host}, strings.NewReader(""), &stdout, &stderr)
	require.Error(t, err, "the port is taken")
	require.Equal(t, 1, exitCode(err, io.Discard))
	require.Empty(t, stdout.String())
	cancel()
	require.NoError(t, waitRun(t, done))
}

func TestEmulatorTakesItsAPIKeyFromAFileOrTheEnvironment(t *testing.T) {
	accepts := func(base, key string) bool {
		req, err := http.NewRequest("GET", base+"/v2/user", nil)
		require.NoError(t, err)
		req.Header.Set("x-vital-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	const fileKey, envKey = "sk_us_from_the_file_0001", "sk_us_from_the_environment_0002"
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(fileKey+"\n"), 0o600))

	// The environment variable, when no flag gives a key.
	t.Setenv(envEmulatorAPIKey, envKey)
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0")
	require.Equal(t, "sk_us_…0002", printed["API key"], "masked in the banner")
	require.True(t, accepts(printed["API base URL"], envKey))
	cancel()
	require.NoError(t, waitRun(t, done))

	// The file wins over the variable.
	printed, cancel, done, _ = startEmulator(t, "--addr", "127.0.0.1:0", "--api-key-file", keyFile)
	require.True(t, accepts(printed["API base URL"], fileKey))
	require.False(t, accepts(printed["API base URL"], envKey))
	cancel()
	require.NoError(t, waitRun(t, done))

	// A key from the environment that contradicts --data's state is
	// refused without echoing either.
	dir := t.TempDir()
	printed, cancel, done, _ = startEmulator(t, "--addr", "127.0.0.1:0", "--data", dir)
	require.True(t, accepts(printed["API base URL"], envKey), "the state kept in --data holds the key of $%s", envEmulatorAPIKey)
	cancel()
	require.NoError(t, waitRun(t, done))
	t.Setenv(envEmulatorAPIKey, "sk_us_another_key_0003")
	_, _, err := vs("emulator", "--addr", "127.0.0.1:0", "--data", dir)
	require.ErrorIs(t, err, errStateConflict)
	require.NotContains(t, err.Error(), "sk_us_another_key_0003")

	// Both the flag and its file, an empty file, a missing file: usage errors naming the flag.
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	for _, args := range [][]string{
		{"--api-key", "sk_us_x", "--api-key-file", keyFile},
		{"--api-key-file", empty},
		{"--api-key-file", filepath.Join(t.TempDir(), "missing")},
	} {
		_, _, err := vs(append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
		var ue *usageError
		require.True(t, errors.As(err, &ue), "%v: %v", args, err)
		require.Contains(t, err.Error(), "api-key", "%v", args)
		require.NotContains(t, err.Error(), fileKey)
	}
}

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
	t.Setenv(emulatorclient.EnvToken, strings.Repeat("0", 64))
	_, _, err = vs("emulator", "reset", "--url", base)
	var refused *emulatorclient.Error
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusForbidden, refused.Status)
	t.Setenv(emulatorclient.EnvToken, printed["Control token"])

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

	t.Setenv(emulatorclient.EnvURL, base)
	out, _, err := vs("emulator", "health")
	require.NoError(t, err, "no --url: $%s names the emulator", emulatorclient.EnvURL)
	require.True(t, strings.HasPrefix(out, "ok, emulator clock "), out)

	// --url wins over the variable.
	t.Setenv(emulatorclient.EnvURL, "http://127.0.0.1:1")
	_, _, err = vs("emulator", "health", "--url", base)
	require.NoError(t, err)
	_, _, err = vs("emulator", "health")
	require.Error(t, err, "the variable's emulator is not there")

	// A variable that is no URL is a usage error naming it.
	t.Setenv(emulatorclient.EnvURL, "127.0.0.1:8787")
	_, _, err = vs("emulator", "health")
	var ue *usageError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Contains(t, err.Error(), "$"+emulatorclient.EnvURL)
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

// On both servers, over real HTTP, the control plane refuses issue 19's
// requests (a foreign or null Origin, same-site, a DNS-rebinding Host, no
// token) for faults/fail, ui/reset and state, and takes the owner's with
// the printed token; serve --emulator puts it behind the same token.
func TestControlPlaneRefusesForeignRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (base, token string)
	}{
		{"serve --emulator", func(t *testing.T) (string, string) {
			banner, _, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", t.TempDir()+"/issuer.db",
				"--session-secret", testSessionSecret, "--emulator")
			return bannerValue(t, banner, "issuer listening on"), bannerValue(t, banner, "control token:")
		}},
		{"emulator", func(t *testing.T) (string, string) {
			printed, _, _, _ := startEmulator(t, "--addr", "127.0.0.1:0")
			return printed["API base URL"], printed["Control token"]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, token := tc.start(t)
			require.Regexp(t, `^[0-9a-f]{64}$`, token)
			hostport := strings.TrimPrefix(base, "http://")
			send := func(method, path, body string, headers ...string) int {
				t.Helper()
				req, err := http.NewRequest(method, base+path, strings.NewReader(body))
				require.NoError(t, err)
				for i := 0; i+1 < len(headers); i += 2 {
					if headers[i] == "Host" {
						req.Host = headers[i+1]
						continue
					}
					req.Header.Set(headers[i], headers[i+1])
				}
				c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				resp, err := c.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			fail := `{"route":"create-user","status":503}`
			tok := []string{emulator.HeaderControlToken, token, "Content-Type", "application/json"}
			for name, headers := range map[string][]string{
				"no token":       {"Content-Type", "application/json"},
				"foreign origin": append([]string{"Origin", "http://evil.example"}, tok...),
				"null origin":    append([]string{"Origin", "null"}, tok...),
				"same-site":      append([]string{"Sec-Fetch-Site", "same-site", "Origin", "http://localhost:1"}, tok...),
				"dns rebinding":  append([]string{"Host", "evil.example:" + strings.Split(hostport, ":")[1]}, tok...),
			} {
				require.Equal(t, http.StatusForbidden, send("POST", "/_emulator/faults/fail", fail, headers...), name)
				require.Equal(t, http.StatusForbidden, send("POST", "/_emulator/ui/reset", "", append(headers,
					"Content-Type", "application/x-www-form-urlencoded")...), name)
			}
			require.Equal(t, http.StatusForbidden, send("GET", "/_emulator/state", "", "Host", "evil.example"))
			require.Equal(t, http.StatusForbidden, send("GET", "/_emulator/ui", "", "Host", "evil.example"))
			require.Equal(t, http.StatusOK, send("GET", "/_emulator/state", ""))

			// The owner's requests, JSON and the UI's form.
			require.Equal(t, http.StatusOK, send("POST", "/_emulator/faults/fail", fail, append(tok, "Origin", base)...))
			require.Equal(t, http.StatusSeeOther, send("POST", "/_emulator/ui/reset", emulator.FormControlToken+"="+token,
				"Content-Type", "application/x-www-form-urlencoded", "Origin", "http://localhost:"+strings.Split(hostport, ":")[1],
				"Host", "localhost:"+strings.Split(hostport, ":")[1]))
		})
	}
}

// A running emulator leaves its token for its user's subcommands (0600, in
// a 0700 directory) and takes it away when it stops; a URL off loopback
// never reads it.
func TestControlTokenLeftForTheUser(t *testing.T) {
	t.Setenv(emulatorclient.EnvRuntimeDir, filepath.Join(t.TempDir(), "run"))
	printed, cancel, done, _ := startEmulator(t, "--addr", "127.0.0.1:0")
	base := printed["API base URL"]
	tok, ok := emulatorclient.DiscoverToken(base)
	require.True(t, ok)
	require.Equal(t, printed["Control token"], tok)
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	path, err := emulatorclient.TokenPath(mustAtoi(t, port))
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	_, ok = emulatorclient.DiscoverToken("http://evil.example:" + port)
	require.False(t, ok)

	cancel()
	require.NoError(t, waitRun(t, done))
	require.NoFileExists(t, path)
	_, ok = emulatorclient.DiscoverToken(base)
	require.False(t, ok)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
