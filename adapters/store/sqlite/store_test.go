package sqlite

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

func countRows(t *testing.T, db *DB, table, installation string) int {
	t.Helper()
	var n int
	require.NoError(t, db.rdb.QueryRow(`SELECT count(*) FROM `+table+` WHERE installation = ?`, installation).Scan(&n))
	return n
}

// tokenColumns returns whether the token record columns of installation
// hold anything.
func tokenColumns(t *testing.T, db *DB, installation string) bool {
	t.Helper()
	var n int
	require.NoError(t, db.rdb.QueryRow(`SELECT count(*) FROM devices WHERE installation = ?
		AND (has_token OR token_user_id != '' OR token_team_id != '' OR token_tenant_id != ''
			OR token_environment != '' OR token_region != '' OR access_token IS NOT NULL
			OR refresh_token IS NOT NULL OR token_expiry IS NOT NULL OR pending_reauth)`,
		installation).Scan(&n))
	return n > 0
}

func TestDevice(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)

	_, ok, err := db.LoadDevice(ctx, "missing")
	require.NoError(t, err)
	require.False(t, ok)

	apiKeyDev := vitalsdk.DeviceState{
		Installation: "a", Strategy: vitalsdk.StrategyAPIKey, Environment: fsm.Sandbox, Region: fsm.US,
		APIKey: "sk_us_key", APIKeyUserID: "b1f3…", ExternalUserID: "ext-1",
		StartupStrategy: vitalsdk.StrategyAPIKey, StartupUserID: "B1F3",
	}
	require.NoError(t, db.SaveDevice(ctx, apiKeyDev))
	got := found(db.LoadDevice(ctx, "a"))(t)
	require.Equal(t, apiKeyDev, got)
	require.False(t, tokenColumns(t, db, "a"))

	// Migrating to a token replaces the whole state.
	jwtDev := vitalsdk.DeviceState{
		Installation: "a", Strategy: vitalsdk.StrategyJWT, Environment: fsm.Production, Region: fsm.EU,
		Record: &vitalsdk.TokenRecord{
			UserID: "u", TeamID: "team", TenantID: "tenant", Environment: fsm.Production, Region: fsm.EU,
			AccessToken: "access", RefreshToken: "refresh",
			Expiry: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), PendingReauth: true,
		},
		StartupStrategy: vitalsdk.StrategyJWT,
	}
	require.NoError(t, db.SaveDevice(ctx, jwtDev))
	got = found(db.LoadDevice(ctx, "a"))(t)
	require.Equal(t, jwtDev, got)

	// Times come back as the same instant, in UTC.
	local := jwtDev
	rec := *jwtDev.Record
	rec.Expiry = rec.Expiry.In(time.FixedZone("x", 3600))
	local.Record = &rec
	require.NoError(t, db.SaveDevice(ctx, local))
	got, _, err = db.LoadDevice(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, jwtDev, got)

	// A nil record removes it; other installations are untouched.
	other := vitalsdk.DeviceState{Installation: "b", Record: &vitalsdk.TokenRecord{AccessToken: "b-access"}}
	require.NoError(t, db.SaveDevice(ctx, other))
	noRecord := jwtDev
	noRecord.Record = nil
	require.NoError(t, db.SaveDevice(ctx, noRecord))
	got, _, err = db.LoadDevice(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got.Record)
	require.False(t, tokenColumns(t, db, "a"))

	// Delete erases every row of the installation, and only of it; the
	// journal is not device state.
	require.NoError(t, db.SaveDevice(ctx, jwtDev))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a"}, "e"))
	require.NoError(t, db.DeleteDevice(ctx, "a"))
	_ = found(db.loadJournalRow(ctx, "a"))(t)
	_, ok, err = db.LoadDevice(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, countRows(t, db, "devices", "a"))
	got = found(db.LoadDevice(ctx, "b"))(t)
	require.Equal(t, other, got)
	require.NoError(t, db.DeleteDevice(ctx, "a"), "deleting a missing device")
}

func TestSaveDeviceRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	tests := []struct {
		name   string
		s      vitalsdk.DeviceState
		column string
	}{
		{"no installation", vitalsdk.DeviceState{}, "installation"},
		{"strategy", vitalsdk.DeviceState{Installation: "a", Strategy: "oauth"}, "strategy"},
		{"environment", vitalsdk.DeviceState{Installation: "a", Environment: "staging"}, "environment"},
		{"region", vitalsdk.DeviceState{Installation: "a", Region: "ap"}, "region"},
		{"startup strategy", vitalsdk.DeviceState{Installation: "a", StartupStrategy: "JWT"}, "startup_strategy"},
		{"record environment", vitalsdk.DeviceState{Installation: "a", Record: &vitalsdk.TokenRecord{Environment: "prod"}}, "token_environment"},
		{"record region", vitalsdk.DeviceState{Installation: "a", Record: &vitalsdk.TokenRecord{Region: "asia"}}, "token_region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SaveDevice(ctx, tt.s)
			var ce *ColumnError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorIs(t, err, vitalsdk.ErrInvalidState, "the consumer's sentinel matches too")
			require.Equal(t, tt.column, ce.Column)
		})
	}
	require.Zero(t, db.WriteCount())
}

func TestLoadRejectsCorruptValues(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		update string
		load   func(*DB) error
		column string
	}{
		{"device strategy", `UPDATE devices SET strategy = 'oauth'`, loadDevice, "strategy"},
		{"device environment", `UPDATE devices SET environment = 'moon'`, loadDevice, "environment"},
		{"device region", `UPDATE devices SET region = 'mars'`, loadDevice, "region"},
		{"device startup strategy", `UPDATE devices SET startup_strategy = '?'`, loadDevice, "startup_strategy"},
		{"token environment", `UPDATE devices SET token_environment = 'x'`, loadDevice, "token_environment"},
		{"token region", `UPDATE devices SET token_region = 'x'`, loadDevice, "token_region"},
		{"journal state", `UPDATE journal SET last_observed = 'signed-in'`, loadJournal, "last_observed"},
		{"journal profile", `UPDATE journal SET profile = 'ios-0.1'`, loadJournal, "profile"},
		{"journal environment", `UPDATE journal SET environment = 'x'`, loadJournal, "environment"},
		{"journal region", `UPDATE journal SET region = 'x'`, loadJournal, "region"},
		{"journal attempts", `UPDATE journal SET attempts = -1`, loadJournal, "attempts"},
		{"event state", `UPDATE journal_events SET last_observed = 'nope'`, journalEvents, "last_observed"},
		{"report status", `UPDATE reports SET sdk_status = 'configured,loggedIn'`, eachReport, "sdk_status"},
		{"report last error", `UPDATE reports SET last_error = 'oops'`, eachReport, "last_error"},
		{"report state", `UPDATE reports SET last_observed = 'x'`, eachReport, "last_observed"},
		{"report profile", `UPDATE reports SET profile = 'x'`, eachReport, "profile"},
		{"report app environment", `UPDATE reports SET app_environment = 'x'`, eachReport, "app_environment"},
		{"report sdk region", `UPDATE reports SET sdk_region = 'x'`, eachReport, "sdk_region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var db *DB
			var path string
			if strings.HasPrefix(tt.name, "report") {
				db, path = openIssuerTest(t)
				r := testReport("a")
				r.LastObserved, r.SDKStatus = fsm.Token, fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken
				r.SDKCurrentUserID = "v"
				putReport(t, db, r)
			} else {
				db, path = openTest(t)
				require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a", Strategy: vitalsdk.StrategyJWT,
					Record: &vitalsdk.TokenRecord{Environment: fsm.Sandbox, Region: fsm.US, AccessToken: "t"}}))
				require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a", LastObserved: fsm.Token,
					Profile: "android-5.0"}, "observed"))
			}
			require.NoError(t, db.Close())
			rawExec(t, path, tt.update)
			db = reopen(t, db, path)

			err := tt.load(db)
			var ce *ColumnError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, ErrCorrupt)
			require.Equal(t, tt.column, ce.Column)
			require.Equal(t, "a", ce.Key)
		})
	}
}

func loadDevice(db *DB) error {
	_, _, err := db.LoadDevice(context.Background(), "a")
	return err
}

func loadJournal(db *DB) error {
	_, _, err := db.loadJournalRow(context.Background(), "a")
	return err
}

func journalEvents(db *DB) error {
	_, err := db.JournalEvents(context.Background(), "a", 0)
	return err
}

func eachReport(db *DB) error {
	return db.EachReport(context.Background(), func(issuer.Report) error { return nil })
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, WithClock(stepClock()))

	_, ok, err := db.loadJournalRow(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
	evs, err := db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Empty(t, evs)

	// A zero UpdatedAt comes from the DB clock.
	first := journalRow{Installation: "a", LastObserved: fsm.SignedOut, Profile: "ios-1.8",
		Environment: fsm.Sandbox, Region: fsm.US, AppUserID: "app", InFlight: "sign-in:v1"}
	require.NoError(t, db.saveJournalRow(ctx, first, "begin sign-in"))
	got := found(db.loadJournalRow(ctx, "a"))(t)
	first.UpdatedAt = t0
	require.Equal(t, first, got)

	// A given UpdatedAt is kept.
	second := journalRow{Installation: "a", LastObserved: fsm.SignedOut, Profile: "ios-1.8",
		AppUserID: "app", VitalUserID: "v1", Attempts: 2, NextAttemptAt: t0.Add(time.Minute),
		LastError: "network", UpdatedAt: t0.Add(30 * time.Second)}
	require.NoError(t, db.saveJournalRow(ctx, second, "sign-in failed"))
	third := journalRow{Installation: "a", LastObserved: fsm.Token, Profile: "ios-1.8",
		AppUserID: "app", VitalUserID: "v1", UpdatedAt: t0.Add(time.Hour)}
	require.NoError(t, db.saveJournalRow(ctx, third, "signed in"))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "b"}, "other"))

	got, _, err = db.loadJournalRow(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, third, got)

	evs, err = db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Len(t, evs, 3)
	require.Equal(t, []string{"begin sign-in", "sign-in failed", "signed in"},
		[]string{evs[0].Event, evs[1].Event, evs[2].Event})
	for i, row := range []journalRow{first, second, third} {
		want, err := row.entry(tableEvents)
		require.NoError(t, err)
		require.Equal(t, want, evs[i].Entry)
		require.Equal(t, row.UpdatedAt, evs[i].At)
		require.Equal(t, "ios-1.8", evs[i].Profile)
	}
	require.Less(t, evs[0].Seq, evs[1].Seq)
	require.Less(t, evs[1].Seq, evs[2].Seq)

	// The latest two, oldest first.
	last2, err := db.JournalEvents(ctx, "a", 2)
	require.NoError(t, err)
	require.Equal(t, evs[1:], last2)
	require.Equal(t, uint64(4), db.WriteCount())
}

func TestSaveJournalRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	tests := []struct {
		name   string
		e      journalRow
		event  string
		column string
	}{
		{"no installation", journalRow{}, "e", "installation"},
		{"state", journalRow{Installation: "a", LastObserved: "signedIn"}, "e", "last_observed"},
		{"profile", journalRow{Installation: "a", Profile: "ios"}, "e", "profile"},
		{"environment", journalRow{Installation: "a", Environment: "prd"}, "e", "environment"},
		{"region", journalRow{Installation: "a", Region: "US"}, "e", "region"},
		{"attempts", journalRow{Installation: "a", Attempts: -1}, "e", "attempts"},
		{"event", journalRow{Installation: "a"}, "", "event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.saveJournalRow(ctx, tt.e, tt.event)
			var ce *ColumnError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, tt.column, ce.Column)
		})
	}
	require.Zero(t, db.WriteCount())
}

func TestSaveJournalIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	before := journalRow{Installation: "a", LastObserved: fsm.SignedOut, UpdatedAt: t0}
	require.NoError(t, db.saveJournalRow(ctx, before, "first"))
	// Make the history insert fail: the entry's update must roll back too.
	// (A temporary trigger on the writer connection: a foreign trigger in
	// the file would be refused by Open.)
	_, err := db.wdb.ExecContext(ctx, `CREATE TEMP TRIGGER no_events BEFORE INSERT ON main.journal_events
		BEGIN SELECT RAISE(ABORT, 'no more events'); END`)
	require.NoError(t, err)
	writes := db.WriteCount()

	err = db.saveJournalRow(ctx, journalRow{Installation: "a", LastObserved: fsm.Token, UpdatedAt: t0}, "second")
	requireAborted(t, db, err, before)
	require.Equal(t, writes, db.WriteCount())
}

// requireAborted holds that a journal save failed with err, a trigger's
// ABORT (a constraint error), and left the row of before.Installation as
// before.
func requireAborted(t *testing.T, db *DB, err error, before journalRow) {
	t.Helper()
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlite3.ErrConstraint, se.Code)
	got, _, err := db.loadJournalRow(context.Background(), before.Installation)
	require.NoError(t, err)
	require.Equal(t, before, got)
}

func TestUserMap(t *testing.T) {
	ctx := context.Background()
	db, _ := openIssuerTest(t, WithClock(stepClock()))

	_, ok, err := db.LookupUser(ctx, "app")
	require.NoError(t, err)
	require.False(t, ok)
	hist, err := db.UserHistory(ctx, "app")
	require.NoError(t, err)
	require.Empty(t, hist)

	m1, err := db.PutUser(ctx, "app", "v1")
	require.NoError(t, err)
	require.Equal(t, issuer.Mapping{AppUserID: "app", VitalUserID: "v1", CreatedAt: t0}, m1)
	got := found(db.LookupUser(ctx, "app"))(t)
	require.Equal(t, m1, got)

	// A second mapping is refused and the active one returned, even for
	// the same Vital user.
	for _, v := range []string{"v2", "v1"} {
		existing, err := db.PutUser(ctx, "app", v)
		require.ErrorIs(t, err, issuer.ErrMappingExists)
		require.Equal(t, m1, existing)
	}

	// Deleting needs the right pair.
	require.ErrorIs(t, db.MarkUserDeleted(ctx, "app", "v2"), ErrNotFound)
	require.ErrorIs(t, db.MarkUserDeleted(ctx, "app", "v2"), issuer.ErrMappingInactive, "the consumer's sentinel matches too")
	require.ErrorIs(t, db.MarkUserDeleted(ctx, "nobody", "v1"), ErrNotFound)
	require.NoError(t, db.MarkUserDeleted(ctx, "app", "v1"))
	require.ErrorIs(t, db.MarkUserDeleted(ctx, "app", "v1"), ErrNotFound, "already deleted")
	_, ok, err = db.LookupUser(ctx, "app")
	require.NoError(t, err)
	require.False(t, ok)

	// A new Vital user for the same app user; the old one stays as history.
	m2, err := db.PutUser(ctx, "app", "v2")
	require.NoError(t, err)
	got = found(db.LookupUser(ctx, "app"))(t)
	require.Equal(t, m2, got)
	hist, err = db.UserHistory(ctx, "app")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, "v1", hist[0].VitalUserID)
	require.NotNil(t, hist[0].DeletedAt)
	require.True(t, hist[0].DeletedAt.After(hist[0].CreatedAt))
	require.Equal(t, m2, hist[1])

	// Other app users are independent.
	_, err = db.PutUser(ctx, "app2", "v1")
	require.NoError(t, err)

	// Failed writes are not counted.
	require.Equal(t, uint64(4), db.WriteCount())

	// Invalid arguments.
	for _, args := range [][2]string{{"", "v"}, {"a", ""}} {
		_, err := db.PutUser(ctx, args[0], args[1])
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorIs(t, err, issuer.ErrInvalidMapping, "the consumer's sentinel matches too")
	}
}

func TestUserMapPartialUniqueIndex(t *testing.T) {
	ctx := context.Background()
	db, _ := openIssuerTest(t)
	_, err := db.PutUser(ctx, "app", "v1")
	require.NoError(t, err)
	// Bypassing PutUser, the schema itself refuses a second active mapping
	// but accepts deleted ones.
	_, err = db.wdb.ExecContext(ctx, `INSERT INTO user_map (app_user_id, vital_user_id, created_at) VALUES ('app', 'v2', 0)`)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlite3.ErrConstraintUnique, se.ExtendedCode)
	_, err = db.wdb.ExecContext(ctx, `INSERT INTO user_map (app_user_id, vital_user_id, created_at, deleted_at) VALUES ('app', 'v0', 0, 1)`)
	require.NoError(t, err)
}

func TestPutUserConcurrent(t *testing.T) {
	ctx := context.Background()
	db, path := openIssuerTest(t)
	db2, err := OpenIssuer(ctx, path) // a second process
	require.NoError(t, err)
	defer db2.Close()

	// A third of the puts come from the second process.
	winner := storetest.RacePutUser(t, []issuer.UserStore{db2, db, db}, "app", 24)
	hist, err := db.UserHistory(ctx, "app")
	require.NoError(t, err)
	require.Equal(t, []issuer.Mapping{winner}, hist)
	require.Equal(t, uint64(1), db.WriteCount()+db2.WriteCount())
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	db, _ := openIssuerTest(t, WithClock(stepClock()))

	var none int
	require.NoError(t, db.EachReport(ctx, func(issuer.Report) error { none++; return nil }))
	require.Zero(t, none)

	full := issuer.Report{
		InstallationID: "c", Platform: fsm.Android, SDKVersion: "4.2.0", Profile: "android-4.2.0",
		AppSignedIn: true, AppUserID: "app", AppVitalUserID: "v", AppEnvironment: fsm.Production, AppRegion: fsm.EU,
		SDKStatus:        fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken | fsm.FlagPendingReauthentication,
		SDKCurrentUserID: "V", SDKEnvironment: fsm.Production, SDKRegion: fsm.EU,
		LastObserved: fsm.ReauthRequired, ReportedAt: t0.Add(time.Hour),
	}
	for _, inst := range []string{"b", "a"} {
		putReport(t, db, testReport(inst))
	}
	old := testReport("c")
	old.AppSignedIn, old.AppUserID = true, "old"
	putReport(t, db, old)
	putReport(t, db, full) // upsert

	var got []issuer.Report
	require.NoError(t, db.EachReport(ctx, func(r issuer.Report) error { got = append(got, r); return nil }))
	require.Equal(t, []issuer.Report{testReport("a"), testReport("b"), full}, got)

	// fn's error stops the walk and comes back as is.
	stop := errors.New("stop")
	calls := 0
	err := db.EachReport(ctx, func(issuer.Report) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)

	// fn may use the DB, writes included.
	var seen []string
	require.NoError(t, db.EachReport(ctx, func(r issuer.Report) error {
		if _, _, err := db.LookupUser(ctx, r.AppUserID); err != nil {
			return err
		}
		seen = append(seen, r.InstallationID)
		_, err := db.PutUser(ctx, "audited-"+r.InstallationID, "v-"+r.InstallationID)
		return err
	}))
	require.Equal(t, []string{"a", "b", "c"}, seen)

	// Rows are handed out as they are read: cancelling in the first call
	// stops the walk.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = db.EachReport(cctx, func(issuer.Report) error { calls++; cancel(); return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, calls)
}

func TestWriteCount(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	require.Zero(t, db.WriteCount(), "migrations are not counted")
	require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a"}))
	require.NoError(t, db.DeleteDevice(ctx, "a"))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a"}, "e"))
	require.Equal(t, uint64(3), db.WriteCount())
	is, _ := openIssuerTest(t)
	require.Zero(t, is.WriteCount(), "migrations are not counted")
	_, err := is.PutUser(ctx, "a", "v")
	require.NoError(t, err)
	require.NoError(t, is.MarkUserDeleted(ctx, "a", "v"))
	putReport(t, is, testReport("a"))
	require.Equal(t, uint64(3), is.WriteCount())
}

// Benchmarks: a consistent launch reads the device state and the journal;
// BenchmarkSQLitePointRead is the floor they are compared with.

func benchDB(b testing.TB) *DB {
	db, _ := openTest(b)
	ctx := context.Background()
	require.NoError(b, db.SaveDevice(ctx, vitalsdk.DeviceState{
		Installation: "dev", Strategy: vitalsdk.StrategyJWT, Environment: fsm.Sandbox, Region: fsm.US,
		Record: &vitalsdk.TokenRecord{UserID: "0d5c4d0e-7c4b-4a37-9f7e-0c7d7e3e4f11", TeamID: "team",
			Environment: fsm.Sandbox, Region: fsm.US, AccessToken: string(make([]byte, 900)),
			RefreshToken: "refresh-token-value", Expiry: t0},
	}))
	require.NoError(b, db.saveJournalRow(ctx, journalRow{Installation: "dev", LastObserved: fsm.Token,
		Profile: "ios-1.8", AppUserID: "app", VitalUserID: "v"}, "signed in"))
	return db
}

// benchOp measures op on benchDB's database.
func benchOp(b *testing.B, op func(ctx context.Context, db *DB) error) {
	db := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := op(ctx, db); err != nil {
			b.Fatal(err)
		}
	}
}

// errBenchMissing is a benchmark's read that found no row.
var errBenchMissing = errors.New("no row for dev")

func BenchmarkLoadDevice(b *testing.B) {
	benchOp(b, func(ctx context.Context, db *DB) error {
		if _, ok, err := db.LoadDevice(ctx, "dev"); err != nil || !ok {
			return cmp.Or(err, errBenchMissing)
		}
		return nil
	})
}

func BenchmarkLoadJournal(b *testing.B) {
	benchOp(b, func(ctx context.Context, db *DB) error {
		if _, ok, err := db.loadJournalRow(ctx, "dev"); err != nil || !ok {
			return cmp.Or(err, errBenchMissing)
		}
		return nil
	})
}

func BenchmarkSaveJournal(b *testing.B) {
	e := journalRow{Installation: "dev", LastObserved: fsm.Token, Profile: "ios-1.8",
		AppUserID: "app", VitalUserID: "v"}
	benchOp(b, func(ctx context.Context, db *DB) error {
		e.Attempts++
		return db.saveJournalRow(ctx, e, "attempt")
	})
}

func BenchmarkSQLitePointRead(b *testing.B) {
	benchOp(b, func(ctx context.Context, db *DB) error {
		var strategy string
		return db.rdb.QueryRowContext(ctx, `SELECT strategy FROM devices WHERE installation = ?`,
			"dev").Scan(&strategy)
	})
}
