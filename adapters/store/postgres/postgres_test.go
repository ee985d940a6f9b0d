package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/issuer"
)

// The interfaces of the consumers that DB implements.
var (
	_ issuer.UserStore       = (*postgres.DB)(nil)
	_ storetest.UserMapStore = (*postgres.DB)(nil)
)

func open(t *testing.T, url string, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestUserMapContract(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	storetest.UserMap(t, func(t *testing.T, now func() time.Time) storetest.UserMapStore {
		return open(t, pgtest.URL(t), postgres.WithClock(now))
	})
}

func TestMigrationsLoad(t *testing.T) {
	require.Positive(t, postgres.Migrations())
}

// exec runs sql on a connection of its own to url.
func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

func TestOpenMigratesAndRecords(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := context.Background()
	db := open(t, url)
	v, err := db.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, postgres.Migrations(), v)
	require.NoError(t, db.Ping(ctx))

	// A mapping survives reopening: a second Open applies nothing.
	_, err = db.PutUser(ctx, "app", "v1")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	again := open(t, url)
	v, err = again.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, postgres.Migrations(), v)
	_, ok, err := again.LookupUser(ctx, "app")
	require.NoError(t, err)
	require.True(t, ok)
}

// Many processes starting at once on a new database: the advisory lock
// makes them take turns, and each migration is applied once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	const n = 8
	errs := make([]error, n)
	dbs := make([]*postgres.DB, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(context.Background(), url)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		defer dbs[i].Close()
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rows, distinct int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM vitalsync_migrations").Scan(&rows, &distinct))
	require.Equal(t, postgres.Migrations(), rows)
	require.Equal(t, postgres.Migrations(), distinct)
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db := open(t, url)
	require.NoError(t, db.Close())
	newer := postgres.Migrations() + 1
	exec(t, url, "INSERT INTO vitalsync_migrations (version, name) VALUES ($1, 'from the future')", newer)

	_, err := postgres.Open(context.Background(), url)
	require.ErrorIs(t, err, postgres.ErrNewerSchema)
	var oe *postgres.OpenError
	require.ErrorAs(t, err, &oe)

	// Nothing was changed: the record is still there, alone above ours.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var max int
	require.NoError(t, conn.QueryRow(ctx, "SELECT max(version) FROM vitalsync_migrations").Scan(&max))
	require.Equal(t, newer, max)
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://user:hunter2@[::1")
	require.ErrorIs(t, err, postgres.ErrInvalidURL)
	require.NotContains(t, err.Error(), "hunter2")

	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = postgres.Open(done, "postgres://127.0.0.1:1/none")
	require.ErrorIs(t, err, context.Canceled)

	// Nothing listens on port 1: the connection error is an *OpenError
	// without the password.
	_, err = postgres.Open(ctx, "postgres://user:hunter2@127.0.0.1:1/none?connect_timeout=2")
	var oe *postgres.OpenError
	require.ErrorAs(t, err, &oe)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestClosed(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.URL(t))
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "closing twice does nothing")
	ctx := context.Background()
	storetest.RequireUserMapFails(t, ctx, db, postgres.ErrClosed)
	require.ErrorIs(t, db.Ping(ctx), postgres.ErrClosed)
}

// Two pools on one schema, as two replicas have: of concurrent first puts
// exactly one wins, and a retirement racing new puts leaves one active
// mapping.
func TestReplicasAgreeOnOneMapping(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	for round := range 10 {
		app := fmt.Sprintf("app-%d", round)
		const n = 20
		storetest.RacePutUser(t, []issuer.UserStore{a, b}, app, n)
		var wg sync.WaitGroup
		errs := make([]error, n)

		// Retire it from one pool while the other puts replacements.
		active, ok, err := a.LookupUser(ctx, app)
		require.NoError(t, err)
		require.True(t, ok)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if i == 0 {
					errs[i] = a.MarkUserDeleted(ctx, app, active.VitalUserID)
					return
				}
				_, err := b.PutUser(ctx, app, fmt.Sprintf("w%d", i))
				if err != nil && !errors.Is(err, issuer.ErrMappingExists) {
					errs[i] = err
				}
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
		}
		h, err := a.UserHistory(ctx, app)
		require.NoError(t, err)
		activeCount := 0
		for _, m := range h {
			if m.Active() {
				activeCount++
			}
		}
		require.LessOrEqual(t, activeCount, 1, "round %d: %v", round, h)
	}
}
