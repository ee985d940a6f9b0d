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
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/fsm"
)

// startEmulator runs "vitalsync emulator args…" until the returned cancel is
// called, and returns what it printed, by label, and the channel run's
// result arrives on.
func startEmulator(t *testing.T, args ...string) (map[string]string, context.CancelFunc, <-chan error, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"emulator"}, args...), strings.NewReader(""), pw, &stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	printed := map[string]string{}
	sc := bufio.NewScanner(pr)
	for printed["Web UI"] == "" && sc.Scan() {
		label, value, ok := strings.Cut(sc.Text(), ":")
		require.True(t, ok, "line %q", sc.Text())
		printed[label] = strings.TrimSpace(value)
	}
	require.NotEmpty(t, printed["Web UI"], "the emulator printed its URLs and key; stderr: %s", &stderr)
	go io.Copy(io.Discard, pr)
	return printed, cancel, done, &stderr
}

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

func decodeEmulatorJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
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
