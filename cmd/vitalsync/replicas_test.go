package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/issuer"
)

// Two serve processes on one PostgreSQL database, sharing nothing else but
// the team API: 200 concurrent first requests for one app user, spread over
// both, create exactly one Vital user; when that user is deleted, 200 more
// replace it exactly once.
func TestServeReplicasOnPostgres(t *testing.T) {
	const apiKey = "sk_us_serve_replicas_key_2b77"
	p := startReplicas(t, apiKey)
	emu, replicas := p.emu, p.replicas
	team := junction.NewClient(p.apiURL, apiKey)
	ctx := context.Background()
	secrets := &emulatortest.Secrets{}
	secrets.Add(apiKey, testSessionSecret)

	const n = 200
	creates := 0
	for round := range 3 {
		app := fmt.Sprintf("replicated-%d", round)
		session := mintSession(t, "--secret", testSessionSecret, "--user", app)
		secrets.Add(session)
		clients := p.clients(session)
		first := replicaBurst(t, clients, app, n, secrets)
		require.Equal(t, []string{first}, emulatortest.UserIDsOf(t, team, app), "round %d: one Vital user", round)
		creates2 := emu.Requests(emulator.RouteCreateUser)
		require.LessOrEqual(t, creates2-creates, len(replicas), "at most one create call per replica")
		creates = creates2

		require.NoError(t, emu.DeleteUser(first))
		fresh := replicaBurst(t, clients, app, n, secrets)
		require.NotEqual(t, first, fresh)
		require.Equal(t, []string{fresh}, emulatortest.UserIDsOf(t, team, app), "round %d: one replacement", round)
		creates = emu.Requests(emulator.RouteCreateUser)
	}

	db, err := postgres.Open(ctx, p.dbURL)
	require.NoError(t, err)
	defer db.Close()
	for round := range 3 {
		hist, err := db.UserHistory(ctx, fmt.Sprintf("replicated-%d", round))
		require.NoError(t, err)
		require.Len(t, hist, 2, "the deleted mapping kept as history, then its one replacement")
		require.False(t, hist[0].Active())
		require.True(t, hist[1].Active())
	}

	for i, r := range replicas {
		require.NoError(t, r.stop(t), "replica %d: %s", i, r.stderr)
		secrets.Check(t, fmt.Sprintf("replica %d's log", i), r.stderr.String())
		require.Contains(t, r.stderr.String(), "issuer shutdown finished", "replica %d", i)
	}
}

// replicaBurst sends n concurrent sign-in-token requests for app, spread
// over the clients in turn, and returns the one Vital user they all got.
func replicaBurst(t *testing.T, clients []*issuer.Client, app string, n int, secrets *emulatortest.Secrets) string {
	t.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			var tok string
			ids[i], tok, errs[i] = clients[i%len(clients)].SignInToken(context.Background(), app)
			secrets.Add(tok)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "request %d", i)
		require.Equal(t, ids[0], ids[i], "request %d", i)
	}
	return ids[0]
}

// replicaPair is two serve processes on one PostgreSQL database, sharing
// nothing else but an emulated team API.
type replicaPair struct {
	dbURL, apiURL string // the database's and the team API's
	emu           *emulator.Emulator
	replicas      []*child
	hc            *http.Client // pooled for bursts of concurrent requests
}

// startReplicas starts a replicaPair on a new schema, the team API's key
// apiKey.
func startReplicas(t *testing.T, apiKey string) *replicaPair {
	t.Helper()
	p := &replicaPair{dbURL: pgtest.URL(t), emu: emulator.New(emulator.WithAPIKey(apiKey)),
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}}
	upstream := httptest.NewServer(p.emu)
	t.Cleanup(upstream.Close)
	t.Cleanup(p.hc.CloseIdleConnections)
	p.apiURL = upstream.URL
	env := []string{envAPIKey + "=" + apiKey, envSessionSecret + "=" + testSessionSecret, envDatabaseURL + "=" + p.dbURL}
	for range 2 {
		p.replicas = append(p.replicas, startServeProcess(t, env, "--addr", "127.0.0.1:0", "--api-url", p.apiURL))
	}
	return p
}

// clients returns an issuer client per replica, calling with session.
func (p *replicaPair) clients(session string) []*issuer.Client {
	var cs []*issuer.Client
	for _, r := range p.replicas {
		cs = append(cs, issuer.NewClient(r.base, session, issuer.WithHTTPClient(p.hc)))
	}
	return cs
}

// envLong, set to 1, runs the long tests: load runs that take tens of
// seconds.
const envLong = "VITALSYNC_LONG"

// TestServeLoad measures a serve process (issuer and embedded emulator)
// from a load generator in this, separate process: first-use tokens (create
// the Vital user, map, mint) and repeat tokens (look up, mint), from 64
// workers, with Go's default two idle connections to the team API and with
// serve's default pool, on SQLite and (when $VITALSYNC_TEST_POSTGRES is set)
// PostgreSQL, with pgxpool's default pool and with pool_max_conns=32. It logs throughput and latency percentiles; BENCHMARKS.md
// records them. VITALSYNC_LONG=1 runs it.
func TestServeLoad(t *testing.T) {
	if os.Getenv(envLong) == "" {
		t.Skip("VITALSYNC_LONG not set: skipping the serve load run")
	}
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "issuer.db") },
	}
	if os.Getenv(pgtest.EnvURL) != "" {
		dbs["postgres"] = func(t *testing.T) string { return pgtest.URL(t) }
		dbs["postgres-pool32"] = func(t *testing.T) string { return pgtest.URL(t) + "&pool_max_conns=32" }
	}
	const users, workers = 4000, 64
	for _, dbName := range []string{"sqlite", "postgres", "postgres-pool32"} {
		newDB, ok := dbs[dbName]
		if !ok {
			t.Logf("%s: skipped ($%s not set)", dbName, pgtest.EnvURL)
			continue
		}
		idles := []int{2, issuer.DefaultTeamIdleConns}
		if dbName == "postgres-pool32" {
			idles = idles[1:] // the database pool's effect, with the sized API pool
		}
		for _, idle := range idles {
			t.Run(fmt.Sprintf("%s/idle=%d", dbName, idle), func(t *testing.T) {
				c := startServeProcess(t, []string{envSessionSecret + "=" + testSessionSecret, envDatabaseURL + "=" + newDB(t)},
					"--addr", "127.0.0.1:0", "--emulator", "--log-level", "warn", "--api-idle-conns", fmt.Sprint(idle))
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: workers}}
				defer hc.CloseIdleConnections()
				clients := make([]*issuer.Client, users)
				for i := range users {
					app := fmt.Sprintf("load-%05d", i)
					s, err := issuer.NewSession([]byte(testSessionSecret), app, time.Hour, time.Now())
					require.NoError(t, err)
					clients[i] = issuer.NewClient(c.base, s, issuer.WithHTTPClient(hc))
				}
				op := func(i int) error {
					_, _, err := clients[i].SignInToken(context.Background(), fmt.Sprintf("load-%05d", i))
					return err
				}
				dials0 := scrapeCounter(t, c.base, "vitalsync_team_api_dials_total")
				lat, wall := emulatortest.Load(t, users, workers, op)
				dials1 := scrapeCounter(t, c.base, "vitalsync_team_api_dials_total")
				emulatortest.LogLoad(t, "first use (create + map + mint)", workers, lat, wall)
				t.Logf("  team API connections opened: %.0f for %d calls", dials1-dials0, 2*users)
				lat, wall = emulatortest.Load(t, users, workers, op)
				dials2 := scrapeCounter(t, c.base, "vitalsync_team_api_dials_total")
				emulatortest.LogLoad(t, "repeat (lookup + mint)", workers, lat, wall)
				t.Logf("  team API connections opened: %.0f for %d calls", dials2-dials1, users)
				require.NoError(t, c.stop(t))
			})
		}
	}
}

// scrapeCounter reads one unlabelled counter from base's /metrics.
func scrapeCounter(t *testing.T, base, name string) float64 {
	t.Helper()
	status, body := get(t, base+issuer.PathMetrics)
	require.Equal(t, http.StatusOK, status)
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
