package main

import (
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
)

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
