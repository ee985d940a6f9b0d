package issuer_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/issuer"
)

// TestConcurrentFirstRequestsCreateOneUser fires 200 first requests for one
// app user at once: exactly one Vital user may come out.
func TestConcurrentFirstRequestsCreateOneUser(t *testing.T) {
	s := newStack(t, stackOptions{logLevel: slog.LevelWarn})
	const n = 200
	c := s.client(t, "zoe")
	ids := []string{burst(t, s, c, "zoe", n)}
	require.Equal(t, []string{ids[0]}, s.usersFor(t, "zoe"), "exactly one Vital user, counted through the API")
	require.Equal(t, 1, s.emu.Requests(emulator.RouteCreateUser), "single flight: one create call")
	require.Equal(t, n, s.emu.Requests(emulator.RouteSignInToken))
	require.Zero(t, issuer.LockedUsers(s.h), "per-user locks are released")
	mt := s.metricsOf(t)
	require.Equal(t, float64(n), mt["vitalsync_issuer_tokens_issued_total"])
	require.Equal(t, 1.0, mt["vitalsync_issuer_users_created_total"])

	// The user is deleted: the next burst replaces it exactly once.
	require.NoError(t, s.emu.DeleteUser(ids[0]))
	fresh := burst(t, s, c, "zoe", n)
	require.NotEqual(t, ids[0], fresh)
	require.Equal(t, []string{fresh}, s.usersFor(t, "zoe"))
	require.Equal(t, 2, s.emu.Requests(emulator.RouteCreateUser))
	hist, err := s.db.UserHistory(context.Background(), "zoe")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, 1.0, s.metricsOf(t)["vitalsync_issuer_users_replaced_total"])
}

// burst sends n concurrent sign-in-token requests for app and returns the
// one Vital user they all got.
func burst(t *testing.T, s *stack, c *issuer.Client, app string, n int) string {
	t.Helper()
	start := make(chan struct{})
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			var tok string
			ids[i], tok, errs[i] = c.SignInToken(context.Background(), app)
			s.secrets.Add(tok)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	return ids[0]
}

// TestConcurrentReplicasCreateOneUser runs two issuers (separate in-process
// locks, like two replicas) over one user map and one team: the API's
// conflict and the store's unique active mapping still leave one user, on
// SQLite as on the in-memory map simulations use.
func TestConcurrentReplicasCreateOneUser(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		a := newStack(t, stackOptions{logLevel: slog.LevelWarn})
		b := newStack(t, stackOptions{logLevel: slog.LevelWarn, kit: a.kit, db: a.db})
		concurrentReplicas(t, a, b, a.db)
	})
	t.Run("memory", func(t *testing.T) {
		users := memory.NewUserMap(nil)
		shared := func(issuer.UserStore) issuer.UserStore { return users }
		a := newStack(t, stackOptions{logLevel: slog.LevelWarn, wrapDB: shared})
		b := newStack(t, stackOptions{logLevel: slog.LevelWarn, kit: a.kit, wrapDB: shared})
		concurrentReplicas(t, a, b, users)
	})
}

func concurrentReplicas(t *testing.T, a, b *stack, users storetest.UserMapStore) {
	const perReplica = 50
	for round := range 5 {
		app := fmt.Sprintf("yan-%d", round)
		start := make(chan struct{})
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for _, s := range []*stack{a, b} {
			c := s.client(t, app)
			for range perReplica {
				wg.Go(func() {
					<-start
					v, tok, err := c.SignInToken(context.Background(), app)
					if !assertNoError(t, err) {
						return
					}
					s.secrets.Add(tok)
					mu.Lock()
					seen[v]++
					mu.Unlock()
				})
			}
		}
		close(start)
		wg.Wait()
		require.Len(t, seen, 1, "round %d: %v", round, seen)
		require.Len(t, a.usersFor(t, app), 1)
		hist, err := users.UserHistory(context.Background(), app)
		require.NoError(t, err)
		require.Len(t, hist, 1)
	}
}

// assertNoError reports err from a goroutine without stopping it.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

// TestManyUsers issues tokens to 2,000 distinct app users (in process)
// with bounded concurrency and logs throughput and latency percentiles.
func TestManyUsers(t *testing.T) {
	s := newStack(t, stackOptions{logLevel: slog.LevelWarn})
	const users, workers = 2000, 16
	vs := make([]string, users)
	toks := make([]string, users)
	lat, elapsed := emulatortest.Load(t, users, workers, func(i int) error {
		app := fmt.Sprintf("load-user-%04d", i)
		var err error
		vs[i], toks[i], err = s.client(t, app).SignInToken(context.Background(), app)
		return err
	})

	vitals := map[string]bool{}
	tokens := map[string]bool{}
	for i := range vs {
		s.secrets.Add(toks[i])
		vitals[vs[i]] = true
		tokens[toks[i]] = true
	}
	require.Len(t, vitals, users)
	require.Len(t, tokens, users)
	require.Equal(t, users, s.totalUsers(t))
	require.Equal(t, float64(users), s.metricsOf(t)["vitalsync_issuer_tokens_issued_total"])
	emulatortest.LogLoad(t, "issuer: first-use sign-in tokens (auth + create user + map + mint)", workers, lat, elapsed)

	// The emulator's own figures for the same work, straight from the team
	// API client: what the issuer adds is the difference.
	lat, elapsed = emulatortest.Load(t, users, workers, func(i int) error {
		k, err := s.team.CreateUser(context.Background(), fmt.Sprintf("direct-user-%04d", i))
		if err == nil {
			_, err = s.team.CreateSignInToken(context.Background(), k.UserID)
		}
		return err
	})
	emulatortest.LogLoad(t, "emulator alone: create user + mint", workers, lat, elapsed)
}

// mappedClient returns a client of app, signed in once (mapped) through a
// new stack that logs only warnings.
func mappedClient(b *testing.B, app string) *issuer.Client {
	s := newStack(b, stackOptions{logLevel: slog.LevelWarn})
	c := s.client(b, app)
	s.signIn(b, app)
	return c
}

// BenchmarkIssuerSignInToken measures a token for an already-mapped user
// through the issuer: client → issuer (auth, map lookup) → emulator mint.
func BenchmarkIssuerSignInToken(b *testing.B) {
	c := mappedClient(b, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.SignInToken(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssuerSignInTokenParallel is BenchmarkIssuerSignInToken from
// GOMAXPROCS goroutines at once.
func BenchmarkIssuerSignInTokenParallel(b *testing.B) {
	c := mappedClient(b, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.SignInToken(ctx, "bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEmulatorSignInToken is the baseline: the team client minting a
// token from the emulator directly, without the issuer hop.
func BenchmarkEmulatorSignInToken(b *testing.B) {
	s := newStack(b, stackOptions{logLevel: slog.LevelWarn})
	v, _ := s.signIn(b, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.team.CreateSignInToken(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}
