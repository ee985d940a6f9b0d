package issuer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

// NewService is the issuer, /readyz, /metrics with the process's
// collectors and the team API client's dials, a request log that names
// routes only, and an emulator behind it on one address.
func TestNewServiceWithAnEmulatorBehindIt(t *testing.T) {
	ctx := context.Background()
	const apiKey, secret = "sk_us_service_test_key_0c4e", "service-test-secret-0123456789"
	emu := emulator.New(emulator.WithAPIKey(apiKey))
	db, err := sqlite.OpenIssuer(ctx, filepath.Join(t.TempDir(), "issuer.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	auth, err := issuer.NewHMACAuthenticator([]byte(secret), time.Now)
	require.NoError(t, err)
	logs := &emulatortest.LockedBuffer{}
	log, err := httpops.NewLogger(logs, "json", "info")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	h, err := issuer.NewService(issuer.ServiceConfig{APIURL: "http://" + srv.Listener.Addr().String(), APIKey: apiKey,
		Store: db, Auth: auth, Logger: log, Fallback: emu.Handler()})
	require.NoError(t, err)
	srv.Config.Handler = h
	srv.Start()

	session, err := issuer.NewSession([]byte(secret), "alice?x", time.Hour, time.Now())
	require.NoError(t, err)
	vital, err := issuer.NewClient(srv.URL, session).ResolveVitalUser(ctx, "alice?x")
	require.NoError(t, err)
	_, err = junction.NewClient(srv.URL, apiKey).GetUser(ctx, vital)
	require.NoError(t, err, "the emulator answers the paths that are not the issuer's")

	body := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	require.JSONEq(t, `{"status":"ready","checks":{"database":"ok","team_api":"ok"}}`, body(httpops.PathReady))
	metrics := body(issuer.PathMetrics)
	for _, name := range []string{"vitalsync_team_api_dials_total", "go_goroutines", "vitalsync_build_info"} {
		require.Contains(t, metrics, name)
	}
	for _, route := range []string{`"route":"/v1/vital-user"`, `"route":"emulator"`, `"route":"/readyz"`} {
		require.Contains(t, logs.String(), route)
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			require.NotContains(t, line, "alice", "a request line holds neither the path nor the query")
		}
	}
	require.NotContains(t, logs.String(), session)
}

func TestRouteName(t *testing.T) {
	for _, tt := range []struct {
		path     string
		fallback bool
		want     string
	}{
		{issuer.PathSignInToken, true, issuer.PathSignInToken},
		{httpops.PathReady, false, httpops.PathReady},
		{"/v2/user/alice", true, "emulator"},
		{"/v2/user/alice", false, "other"},
	} {
		require.Equal(t, tt.want, issuer.RouteName(tt.path, tt.fallback), "RouteName(%q, %v)", tt.path, tt.fallback)
	}
}

func TestMountWithEmulatorPassesPathsAsSent(t *testing.T) {
	const apiKey = "sk_us_mount_test_key_51aa"
	var issuerHits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuerHits.Add(1) })
	srv := httptest.NewServer(issuer.Mount(h, nil, emulator.New(emulator.WithAPIKey(apiKey))))
	defer srv.Close()
	ctx := context.Background()

	// A client_user_id that a cleaning router would turn into another path.
	team := junction.NewClient(srv.URL, apiKey)
	k, err := team.CreateUser(ctx, "a/../b")
	require.NoError(t, err)
	u, err := team.ResolveUser(ctx, "a/../b")
	require.NoError(t, err)
	require.Equal(t, k.UserID, u.UserID)

	// Unknown paths get the emulator's JSON 404, not a redirect.
	resp, err := http.Get(srv.URL + "//v2/user")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Zero(t, issuerHits.Load())

	for _, p := range issuer.Paths() {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, int32(len(issuer.Paths())), issuerHits.Load(), "the issuer's paths reach the issuer")
}
