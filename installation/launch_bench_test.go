package installation_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The cost of a launch that finds nothing to do, on a device database
// (BENCHMARKS.md records the figures).

const benchUser = "6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10"

// benchDevice is a device database holding a signed-in, reconciled
// installation: what a launch that finds nothing to do reads.
func benchDevice(b *testing.B) (*sqlite.DB, string) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "device.db")
	db, err := sqlite.OpenDevice(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	if err := db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone", Strategy: vitalsdk.StrategyJWT,
		Environment: fsm.Sandbox, Region: fsm.US,
		Record: &vitalsdk.TokenRecord{UserID: benchUser, TeamID: "team", Environment: fsm.Sandbox, Region: fsm.US,
			AccessToken: "access", RefreshToken: "refresh", Expiry: now.Add(time.Hour)}}); err != nil {
		b.Fatal(err)
	}
	if err := db.Journal("phone", "android-5.0").Save(ctx, reconcile.JournalEntry{
		LastObserved: fsm.Token, Environment: fsm.Sandbox, Region: fsm.US, AppUserID: "alice", VitalUserID: benchUser},
		"seed"); err != nil {
		b.Fatal(err)
	}
	return db, path
}

// BenchmarkLaunchConsistent is a whole launch that finds nothing to do: the
// SDK core loads the installation from the open device database (a
// relaunch), the runner loads the journal, observes, plans, and returns.
// It must make no network call and no write.
func BenchmarkLaunchConsistent(b *testing.B) {
	db, _ := benchDevice(b)
	ctx := context.Background()
	p, _ := fsm.ParseProfile("android-5.0")
	app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
	tokens := issuer.NewClient("http://127.0.0.1:1", "unused")
	writes := db.WriteCount()
	b.ReportAllocs()
	for b.Loop() {
		sdk, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: p, Installation: "phone", Store: db})
		if err != nil {
			b.Fatal(err)
		}
		r, err := reconcile.NewRunner(reconcile.Config{Profile: p, SDK: sdk, Tokens: tokens,
			Journal: db.Journal("phone", p.Name),
			App:     func() reconcile.AppSession { return app }, Now: time.Now, Rand: func() float64 { return 0 }})
		if err != nil {
			b.Fatal(err)
		}
		out, err := r.Run(ctx)
		if err != nil || out.Result != reconcile.ResultNothingToDo {
			b.Fatal(out.First().Plan, err)
		}
	}
	if db.WriteCount() != writes {
		b.Fatal("a consistent launch wrote to the database")
	}
}

// BenchmarkRunnerConsistent is the reconciler's own cost of a launch that
// finds nothing to do, on an SDK already loaded in memory (as a real app
// has it: the SDK's status is in memory): one journal read from the
// device database, then observe and plan. It must make no call and no
// write; its ratio to BenchmarkSQLitePointRead is the figure to watch.
func BenchmarkRunnerConsistent(b *testing.B) {
	db, _ := benchDevice(b)
	ctx := context.Background()
	p, _ := fsm.ParseProfile("android-5.0")
	app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
	sdk, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: p, Installation: "phone", Store: db})
	if err != nil {
		b.Fatal(err)
	}
	r, err := reconcile.NewRunner(reconcile.Config{Profile: p, SDK: sdk, Tokens: issuer.NewClient("http://127.0.0.1:1", "unused"),
		Journal: db.Journal("phone", p.Name),
		App:     func() reconcile.AppSession { return app }, Now: time.Now, Rand: func() float64 { return 0 }})
	if err != nil {
		b.Fatal(err)
	}
	writes := db.WriteCount()
	b.ReportAllocs()
	for b.Loop() {
		out, err := r.Run(ctx)
		if err != nil || out.Result != reconcile.ResultNothingToDo {
			b.Fatal(out.First().Plan, err)
		}
	}
	if db.WriteCount() != writes {
		b.Fatal("a consistent launch wrote to the database")
	}
}

// BenchmarkSQLitePointRead is the baseline for BenchmarkLaunchConsistent:
// one single-row read by primary key on the same kind of file, through a
// plain database/sql handle.
func BenchmarkSQLitePointRead(b *testing.B) {
	_, path := benchDevice(b)
	rdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var st string
		if err := rdb.QueryRowContext(ctx, `SELECT last_observed FROM journal WHERE installation = ?`, "phone").Scan(&st); err != nil {
			b.Fatal(err)
		}
	}
}
