package installation_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

// noNetwork fails every request: the launches below must not send any.
type noNetwork struct{ calls int }

func (n *noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.calls++
	return nil, errors.New("no network in this test")
}

var now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func TestOpenNeedsStoreJournalAndKey(t *testing.T) {
	p, _ := fsm.ParseProfile("android-5.0")
	base := installation.Config{Profile: p, Store: memory.NewDeviceStore(), Journal: &memory.Journal{},
		Installation: "phone", Now: now}
	for name, edit := range map[string]func(*installation.Config){
		"store":        func(c *installation.Config) { c.Store = nil },
		"journal":      func(c *installation.Config) { c.Journal = nil },
		"installation": func(c *installation.Config) { c.Installation = "" },
	} {
		c := base
		edit(&c)
		_, err := installation.Open(context.Background(), c)
		require.ErrorIs(t, err, installation.ErrConfig, name)
	}
}

// TestLaunchOnMemoryAndSQLite: a signed-out app on a fresh device is
// consistent on either store: no call, no write, and Writes counts what
// the stores committed (0 without a counter).
func TestLaunchOnMemoryAndSQLite(t *testing.T) {
	ctx := context.Background()
	p, _ := fsm.ParseProfile("ios-1.8")
	db, err := sqlite.OpenDevice(ctx, filepath.Join(t.TempDir(), "device.db"), sqlite.WithClock(now))
	require.NoError(t, err)
	defer db.Close()
	ms, mj := memory.NewDeviceStore(), &memory.Journal{}
	cfgs := map[string]installation.Config{
		"memory":                   {Store: ms, Journal: mj, Writes: func() uint64 { return ms.WriteCount() + mj.WriteCount() }},
		"memory without a counter": {Store: memory.NewDeviceStore(), Journal: &memory.Journal{}},
	}
	c := installation.Config{}
	c.Store, c.Journal, c.Writes = installation.SQLite(db, "phone", p)
	cfgs["sqlite"] = c
	for name, cfg := range cfgs {
		net := &noNetwork{}
		cfg.Profile, cfg.Installation, cfg.Transport, cfg.Now, cfg.IssuerURL = p, "phone", net, now, "http://issuer.test"
		// The first launch records the observed state (one journal write
		// where counted); the next one writes nothing.
		rep, err := installation.Launch(ctx, cfg)
		require.NoError(t, err, name)
		require.Equal(t, reconcile.ResultNothingToDo, rep.Outcome.Result, name)
		require.Zero(t, rep.NetworkCalls, name)
		if cfg.Writes == nil {
			require.Zero(t, rep.DBWrites, name)
		} else {
			require.Equal(t, uint64(1), rep.DBWrites, name)
		}
		rep, err = installation.Launch(ctx, cfg)
		require.NoError(t, err, name)
		require.Zero(t, rep.NetworkCalls, name)
		require.Zero(t, net.calls, name)
		require.Zero(t, rep.DBWrites, name)
	}

	// A launch that records a state writes, and Writes sees it: the app
	// signs in, the token source is unreachable, the failure is journaled.
	net := &noNetwork{}
	app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
	cfg := installation.Config{Profile: p, Store: ms, Journal: mj, Installation: "phone", Transport: net, Now: now,
		IssuerURL: "http://issuer.test", Session: "s", App: func() reconcile.AppSession { return app },
		Writes: func() uint64 { return ms.WriteCount() + mj.WriteCount() }}
	before := ms.WriteCount() + mj.WriteCount()
	rep, err := installation.Launch(ctx, cfg)
	require.Error(t, err)
	require.Equal(t, reconcile.ResultFailed, rep.Outcome.Result)
	require.Positive(t, rep.NetworkCalls)
	require.Equal(t, int64(net.calls), rep.NetworkCalls)
	require.Equal(t, mj.WriteCount()+ms.WriteCount()-before, rep.DBWrites)
	require.Positive(t, rep.DBWrites)
}

// Every profile's runner gets the SDK's optional ports: a launch before the
// first unlock decides nothing on every iOS profile, those without
// identify (iOS 1.3, Flutter) included, and sends nothing.
func TestLockedKeychainDefersOnEveryIOSProfile(t *testing.T) {
	for _, p := range fsm.Profiles() {
		if p.Platform != fsm.IOS {
			continue
		}
		net := &noNetwork{}
		cfg := installation.Config{Profile: p, Store: memory.NewDeviceStore(), Journal: &memory.Journal{},
			Installation: "phone", Now: now, Transport: net, KeychainLocked: true,
			IssuerURL: "http://issuer.test", Session: "s", APIURL: "http://api.test", AuthURL: "http://auth.test",
			App: func() reconcile.AppSession { return reconcile.AppSession{SignedIn: true, AppUserID: "alice"} }}
		rep, err := installation.Launch(context.Background(), cfg)
		require.NoError(t, err, p.Name)
		require.Equal(t, reconcile.ResultDeferred, rep.Outcome.Result, p.Name)
		require.Equal(t, reconcile.ProtectedDataLocked, rep.Outcome.First().Plan.Discrepancy, p.Name)
		require.Zero(t, net.calls, p.Name)
	}
}
