package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

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
	dbURL := pgtest.URL(t)
	const apiKey = "sk_us_serve_replicas_key_2b77"
	emu := emulator.New(emulator.WithAPIKey(apiKey))
	upstream := httptest.NewServer(emu)
	defer upstream.Close()
	env := []string{envAPIKey + "=" + apiKey, envSessionSecret + "=" + testSessionSecret, envDatabaseURL + "=" + dbURL}
	replicas := []*child{
		startServeProcess(t, env, "--addr", "127.0.0.1:0", "--api-url", upstream.URL),
		startServeProcess(t, env, "--addr", "127.0.0.1:0", "--api-url", upstream.URL),
	}
	team := junction.NewClient(upstream.URL, apiKey)
	ctx := context.Background()
	secrets := &emulatortest.Secrets{}
	secrets.Add(apiKey, testSessionSecret)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	defer hc.CloseIdleConnections()
	const n = 200
	creates := 0
	for round := range 3 {
		app := fmt.Sprintf("replicated-%d", round)
		session := mintSession(t, "--secret", testSessionSecret, "--user", app)
		secrets.Add(session)
		clients := []*issuer.Client{
			issuer.NewClient(replicas[0].base, session, issuer.WithHTTPClient(hc)),
			issuer.NewClient(replicas[1].base, session, issuer.WithHTTPClient(hc)),
		}
		first := replicaBurst(t, clients, app, n, secrets)
		require.Equal(t, []string{first}, activeUsers(t, team, app), "round %d: one Vital user", round)
		creates2 := emu.Requests(emulator.RouteCreateUser)
		require.LessOrEqual(t, creates2-creates, len(replicas), "at most one create call per replica")
		creates = creates2

		require.NoError(t, emu.DeleteUser(first))
		fresh := replicaBurst(t, clients, app, n, secrets)
		require.NotEqual(t, first, fresh)
		require.Equal(t, []string{fresh}, activeUsers(t, team, app), "round %d: one replacement", round)
		creates = emu.Requests(emulator.RouteCreateUser)
	}

	db, err := postgres.Open(ctx, dbURL)
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

// activeUsers lists the team's users whose client_user_id is app.
func activeUsers(t *testing.T, team *junction.Client, app string) []string {
	t.Helper()
	var ids []string
	for off := 0; ; off += 100 {
		page, err := team.ListUsers(context.Background(), off, 100)
		require.NoError(t, err)
		for _, u := range page.Users {
			if u.ClientUserID == app {
				ids = append(ids, u.UserID)
			}
		}
		if len(page.Users) < 100 {
			return ids
		}
	}
}
