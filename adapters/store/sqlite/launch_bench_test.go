package sqlite

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// launchFixture makes a device database like a phone's after switches past
// switches of user: its device row (with sealed tokens), its journal entry,
// and switches rows of journal history, written directly as a file from
// before the history was bounded would hold them. It returns the closed
// file's path.
func launchFixture(tb testing.TB, switches int) string {
	tb.Helper()
	ctx := context.Background()
	db, path := openTest(tb, WithClock(stepClock()))
	require.NoError(tb, db.SaveDevice(ctx, vitalsdk.DeviceState{
		Installation: "phone", Strategy: vitalsdk.StrategyJWT, Environment: fsm.Sandbox, Region: fsm.US,
		Record: &vitalsdk.TokenRecord{UserID: "v1", TeamID: "team", Environment: fsm.Sandbox, Region: fsm.US,
			AccessToken: "access-token", RefreshToken: "refresh-token", Expiry: t0.Add(time.Hour)},
	}))
	require.NoError(tb, db.saveJournalRow(ctx, journalRow{Installation: "phone", LastObserved: fsm.Token,
		Profile: "ios-1.8", Environment: fsm.Sandbox, Region: fsm.US, AppUserID: "app-1", VitalUserID: "v1"}, "observed"))
	_, err := db.wdb.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
		INSERT INTO journal_events (installation, event, last_observed, profile, environment, region,
			app_user_id, vital_user_id, in_flight, attempts, at)
		SELECT 'phone', 'signed in', 'token', 'ios-1.8', 'sandbox', 'us',
			'app-user-' || i, 'vital-user-' || i, '', 0, ?2 + i FROM n`,
		switches, t0.UnixNano())
	require.NoError(tb, err)
	require.NoError(tb, db.Close())
	return path
}

// BenchmarkLaunchProcess is what a quiet `vitalsync launch` process does
// with its database: Open (with its checks), LoadDevice, LoadJournal,
// Close. Its cost must not grow with the history: compare history=100 with
// history=100000 in the same run.
func BenchmarkLaunchProcess(b *testing.B) {
	for _, switches := range []int{100, 100_000} {
		b.Run("history="+strconv.Itoa(switches), func(b *testing.B) {
			ctx := context.Background()
			path := launchFixture(b, switches)
			fi, err := os.Stat(path)
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if launchProcess(b, ctx, path).WriteCount() != 0 {
					b.Fatal("a quiet launch wrote")
				}
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		})
	}
}

// launchProcess is what a new process's quiet launch does with the device
// file at path: open it (building the expected schema again), read the
// device state and the journal of "phone", close it. It returns the closed
// database, for its write count.
func launchProcess(b *testing.B, ctx context.Context, path string) *DB {
	expectedSchemas.Clear() // a new process builds it again
	db, err := OpenDevice(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok, err := db.LoadDevice(ctx, "phone"); err != nil || !ok {
		b.Fatal(ok, err)
	}
	if _, ok, err := db.loadJournalRow(ctx, "phone"); err != nil || !ok {
		b.Fatal(ok, err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkLaunchProcessInterleaved runs the launch process of
// BenchmarkLaunchProcess on the two files in turn, so that both see the same
// machine load, and reports each one's mean time per launch and their ratio
// (large/small): the figure that must stay within 10% of 1.
func BenchmarkLaunchProcessInterleaved(b *testing.B) {
	ctx := context.Background()
	paths := [2]string{launchFixture(b, 100), launchFixture(b, 100_000)}
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		for i, path := range paths {
			start := time.Now()
			launchProcess(b, ctx, path)
			spent[i] += time.Since(start)
		}
		n++
	}
	small := float64(spent[0].Nanoseconds()) / float64(n)
	large := float64(spent[1].Nanoseconds()) / float64(n)
	b.ReportMetric(small, "ns/launch-100")
	b.ReportMetric(large, "ns/launch-100000")
	b.ReportMetric(large/small, "ratio")
}
