package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/installation"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
	"pgregory.net/rapid"
)

var (
	propKeyOnce sync.Once
	propKey     *rsa.PrivateKey
)

// sharedKey is one emulator signing key for every generated world: a fresh
// RSA key per world would dominate the run time.
func sharedKey(t rapid.TB) *rsa.PrivateKey {
	propKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, emulator.KeyBits)
		if err != nil {
			t.Fatalf("rsa key: %v", err)
		}
		propKey = k
	})
	return propKey
}

// world is one installation on the real stack: the SDK core on a device
// database, the issuer and the emulator over loopback, one clock.
type world struct {
	s       *stack
	db      *sqlite.DB
	profile fsm.Profile
	app     string // "" signed out
	cleanup []func()
}

func (w *world) close() {
	for i := len(w.cleanup) - 1; i >= 0; i-- {
		w.cleanup[i]()
	}
}

func (w *world) config(t *rapid.T) installation.Config {
	cfg := installation.Config{Profile: w.profile, Installation: "phone", IssuerURL: w.s.url,
		APIURL: w.s.url, AuthURL: w.s.url + "/auth", Now: w.s.clock.Now}
	cfg.Store, cfg.Journal, cfg.Writes = installation.SQLite(w.db, cfg.Installation, w.profile)
	if w.app != "" {
		sess, err := w.s.session(w.app)
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		cfg.Session = sess
		app := reconcile.AppSession{SignedIn: true, AppUserID: w.app, Environment: fsm.Sandbox, Region: fsm.US}
		cfg.App = func() reconcile.AppSession { return app }
	}
	return cfg
}

func (w *world) launch(t *rapid.T) (launchReport, error) {
	rep, err := launchOnce(context.Background(), w.config(t))
	if cerr := (reconcile.Outcome{Passes: rep.Passes}).CheckApplied(); cerr != nil {
		t.Fatalf("the runner applied what no plan said: %v", cerr)
	}
	return rep, err
}

func (w *world) sdk(t *rapid.T) *vitalsdk.Client {
	c, err := vitalsdk.New(context.Background(), vitalsdk.Options{Profile: w.profile, Installation: "phone",
		Store: w.db, APIBaseURL: w.s.url, AuthBaseURL: w.s.url + "/auth", Now: w.s.clock.Now})
	if err != nil {
		t.Fatalf("sdk: %v", err)
	}
	return c
}

// sync is the app's data sync between launches: it asks the SDK for an
// access token, which refreshes an expired one, and reports an SDK error to
// the launch task as an app would.
func (w *world) sync(t *rapid.T) {
	sdk := w.sdk(t)
	if _, err := sdk.AccessToken(context.Background()); err != nil {
		in, oerr := installation.Open(context.Background(), w.config(t))
		if oerr != nil {
			t.Fatal(oerr)
		}
		if rerr := in.RecordSDKError(context.Background(), err); rerr != nil {
			t.Fatal(rerr)
		}
	}
}

// settle launches until the world agrees, advancing the clock past any
// backoff; injected faults are one-shot, so it must take at most a few
// launches.
func (w *world) settle(t *rapid.T) launchReport {
	for i := 0; i < 4; i++ {
		rep, err := w.launch(t)
		var re *reconcile.RunError
		switch {
		case err == nil && rep.Outcome.Result != reconcile.ResultDeferred:
			return rep
		case err == nil: // deferred by backoff
			w.s.clock.Advance(rep.Outcome.RetryAt.Sub(w.s.clock.Now()) + time.Second)
		case errors.As(err, &re) && re.Class == reconcile.ClassTransient:
			w.s.clock.Advance(re.RetryAt.Sub(w.s.clock.Now()) + time.Second)
		default:
			t.Fatalf("launch %d failed: %v (%+v)", i, err, rep.Outcome)
		}
	}
	t.Fatalf("no agreement after 4 launches")
	return launchReport{}
}

// check asserts the invariants after a settled launch: the SDK agrees with
// the app (never another Vital user than the issuer maps the app user
// to), the SDK followed its state machine, and the next launch is quiet.
func (w *world) check(t *rapid.T, rep launchReport) {
	ctx := context.Background()
	if d := rep.Outcome.Divergence; d != nil {
		t.Fatalf("the SDK diverged from the state machine: %s", d)
	}
	sdk := w.sdk(t)
	if w.app == "" {
		if sdk.Status() != 0 {
			t.Fatalf("app signed out, SDK status %s", sdk.Status())
		}
	} else {
		m, ok, err := w.s.issuerDB.LookupUser(ctx, w.app)
		if err != nil || !ok {
			t.Fatalf("no mapping for %s: %v", w.app, err)
		}
		st, err := fsm.Classify(sdk.Status(), "", w.profile)
		if err != nil || st != fsm.Token {
			t.Fatalf("app signed in as %s, SDK %s (%v)", w.app, sdk.Status(), err)
		}
		if !strings.EqualFold(sdk.CurrentUserID(), m.VitalUserID) {
			t.Fatalf("SDK signed in as %s, %s's Vital user is %s", sdk.CurrentUserID(), w.app, m.VitalUserID)
		}
	}
	again, err := w.launch(t)
	if err != nil || again.NetworkCalls != 0 || again.DBWrites != 0 || len(again.Outcome.Applied) != 0 {
		t.Fatalf("the launch after agreement was not quiet: %+v, %d calls, %d writes, %v",
			again.Outcome, again.NetworkCalls, again.DBWrites, err)
	}
	// And the session works: the SDK can get an access token (refreshing
	// it if it expired), so data sync runs.
	if w.app != "" {
		if _, err := sdk.AccessToken(ctx); err != nil {
			t.Fatalf("agreed, but the SDK cannot get an access token: %v", err)
		}
	}
}

// TestLaunchPropertyRealStack drives one installation on the real SDK core,
// issuer and emulator through random app events and backend faults, and
// checks after every settled launch that app and SDK agree, that the SDK
// followed its profile's state machine, and that the next launch is quiet.
// rapid shrinks a failure to a minimal sequence of events.
func TestLaunchPropertyRealStack(t *testing.T) {
	// Each world starts servers and databases: fewer checks than rapid's
	// default 100 unless -rapid.checks says otherwise.
	checks := "25"
	if testing.Short() {
		checks = "5"
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit {
		old := flag.Lookup("rapid.checks").Value.String()
		flag.Set("rapid.checks", checks)
		defer flag.Set("rapid.checks", old)
	}
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "vitalsync-prop-")
		if err != nil {
			t.Fatal(err)
		}
		w := &world{profile: rapid.SampledFrom(fsm.Profiles()).Draw(t, "profile")}
		w.cleanup = append(w.cleanup, func() { os.RemoveAll(dir) })
		defer w.close()
		if w.s, err = startStack(ctx, dir, nil, emulator.WithSigningKey(sharedKey(t))); err != nil {
			t.Fatal(err)
		}
		w.cleanup = append(w.cleanup, w.s.close)
		if w.db, err = sqlite.Open(ctx, filepath.Join(dir, "device.db"), sqlite.WithClock(w.s.clock.Now)); err != nil {
			t.Fatal(err)
		}
		w.cleanup = append(w.cleanup, func() { w.db.Close() })

		t.Repeat(map[string]func(*rapid.T){
			"sign in": func(t *rapid.T) {
				w.app = rapid.SampledFrom([]string{"alice", "bob"}).Draw(t, "app user")
				w.check(t, w.settle(t))
			},
			"sign out": func(t *rapid.T) {
				w.app = ""
				w.check(t, w.settle(t))
			},
			"relaunch": func(t *rapid.T) {
				w.check(t, w.settle(t))
			},
			"backend deletes the user, the SDK refreshes": func(t *rapid.T) {
				if w.app == "" {
					t.Skip("no app user")
				}
				m, ok, err := w.s.issuerDB.LookupUser(ctx, w.app)
				if err != nil || !ok {
					t.Skip("not mapped yet")
				}
				if err := w.s.team.DeleteUser(ctx, m.VitalUserID); errors.Is(err, junction.ErrNotFound) {
					t.Skip("deleted already; the SDK has not noticed yet")
				} else if err != nil {
					t.Fatal(err)
				}
				w.s.clock.Advance(emulator.DefaultAccessTTL + time.Minute)
				w.sync(t) // the app's data sync: the SDK detects the deletion
				w.check(t, w.settle(t))
			},
			"refresh token revoked": func(t *rapid.T) {
				if w.app == "" {
					t.Skip("no app user")
				}
				m, ok, err := w.s.issuerDB.LookupUser(ctx, w.app)
				if err != nil || !ok {
					t.Skip("not mapped yet")
				}
				w.s.emu.RevokeRefreshTokens(m.VitalUserID)
				w.s.clock.Advance(emulator.DefaultAccessTTL + time.Minute)
				w.sync(t) // the SDK now needs reauthentication
				w.check(t, w.settle(t))
			},
			"transient fault on the next launch": func(t *rapid.T) {
				route := rapid.SampledFrom([]emulator.Route{emulator.RouteToken, emulator.RouteSignInToken,
					emulator.RouteCreateUser}).Draw(t, "route")
				switch rapid.IntRange(0, 2).Draw(t, "fault") {
				case 0:
					w.s.emu.FailNext(route, 1, 503)
				case 1:
					w.s.emu.DropNext(route, 1)
				default:
					w.s.emu.RateLimitNext(route, 1, time.Duration(rapid.IntRange(1, 7200).Draw(t, "retry after s"))*time.Second)
				}
				w.app = rapid.SampledFrom([]string{"alice", "bob", ""}).Draw(t, "app user")
				w.check(t, w.settle(t))
				w.s.emu.ClearFaults() // a fault the launch did not reach
			},
		})
	})
}
