package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/issuer"
)

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
		idles := []int{2, defaultAPIIdleConns}
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
