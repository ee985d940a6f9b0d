package simulations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The hosts a DemoStack serves on its in-process transport: the emulator at
// the two Junction hosts and the issuer beside it. Reserved .test names:
// nothing leaves the process but a legacy auth URL's requests.
const (
	demoAPIHost    = "api.emulator.test"
	demoAuthHost   = "auth.emulator.test"
	demoIssuerHost = "issuer.test"
)

// DemoStack is the world of `vitalsync demo` (and of tests that want one
// installation's launches against a real issuer on SQLite): package
// virtual's clock and in-process transport, the emulator on both Junction
// hosts, and the issuer on a SQLite user map mounted beside it. Unlike a
// fleet's backend, its emulator signs with a fresh key and API key, and its
// issuer with a random session secret. The clock starts at the real time
// and moves only when its user moves it, so token expiry shows without
// waiting an hour.
type DemoStack struct {
	// Clock is the stack's only time source.
	Clock *virtual.Clock
	// Emulator serves the team API and the auth server, with its fault
	// knobs.
	Emulator *emulator.Emulator
	// Team is a team API client with the emulator's API key.
	Team *junction.Client
	// Issuer is the issuer's handler and IssuerDB its SQLite user map and
	// reports (issuer.db in the stack's folder).
	Issuer   http.Handler
	IssuerDB *sqlite.DB
	// APIURL, AuthURL and IssuerURL are the base URLs on the stack's
	// transport.
	APIURL, AuthURL, IssuerURL string
	net                        *virtual.Transport
	secret                     []byte
	dir                        string
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// NewDemoStack builds a stack whose issuer keeps its user map in dir
// (issuer.db); log receives the issuer's log (nil: none). Close it.
func NewDemoStack(ctx context.Context, dir string, log *slog.Logger) (*DemoStack, error) {
	clk := virtual.NewClock(time.Now())
	s := &DemoStack{Clock: clk, net: &virtual.Transport{}, secret: []byte(randomHex(32)), dir: dir}
	s.Emulator = emulator.New(emulator.WithAPIKey("sk_us_demo_"+randomHex(12)), emulator.WithClock(clk.Now), emulator.WithAfter(clk.After))
	s.APIURL = s.net.Handle(demoAPIHost, s.Emulator)
	s.AuthURL = s.net.Handle(demoAuthHost, s.Emulator) + "/auth"
	s.Team = junction.NewClient(s.APIURL, s.Emulator.APIKey(), junction.WithHTTPClient(s.net.Client()), junction.WithClock(clk.Now))
	var err error
	if s.IssuerDB, err = sqlite.OpenIssuer(ctx, filepath.Join(dir, "issuer.db"), sqlite.WithClock(clk.Now)); err != nil {
		return nil, err
	}
	auth, err := issuer.NewHMACAuthenticator(s.secret, clk.Now)
	if err == nil {
		s.Issuer, err = issuer.New(issuer.Config{Team: s.Team, Store: s.IssuerDB, Auth: auth, Logger: log, Now: clk.Now})
	}
	if err != nil {
		s.IssuerDB.Close()
		return nil, err
	}
	s.IssuerURL = s.net.Handle(demoIssuerHost, s.Issuer)
	return s, nil
}

// Close closes the issuer's database.
func (s *DemoStack) Close() error { return s.IssuerDB.Close() }

// Session returns a day-long issuer session of appUser.
func (s *DemoStack) Session(appUser string) (string, error) {
	return issuer.NewSession(s.secret, appUser, 24*time.Hour, s.Clock.Now())
}

// RoundTrip carries a device's requests: the stack's hosts in process, any
// other (a legacy auth URL given from outside) over the network.
func (s *DemoStack) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.URL.Host {
	case demoAPIHost, demoAuthHost, demoIssuerHost:
		return s.net.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// AppConfig is a launch of installation inst of profile p on the stack,
// its SDK state and journal in db, its legacy Firebase endpoints at
// legacyURL, and the app signed in as appUser with a day-long session
// (knowing its Vital user as vital, "" when it does not), or signed out
// when appUser is "".
func (s *DemoStack) AppConfig(db *sqlite.DB, p fsm.Profile, inst, appUser, vital, legacyURL string) (installation.Config, error) {
	cfg := installation.Config{Profile: p, Installation: inst, IssuerURL: s.IssuerURL, APIURL: s.APIURL, AuthURL: s.AuthURL,
		LegacyAuthURL: legacyURL, Now: s.Clock.Now, Transport: s, ReportLog: db}
	cfg.Store, cfg.Journal, cfg.Writes = installation.SQLite(db, inst, p)
	if appUser == "" {
		return cfg, nil
	}
	sess, err := s.Session(appUser)
	if err != nil {
		return cfg, err
	}
	app := reconcile.AppSession{SignedIn: true, AppUserID: appUser, VitalUserID: vital, Environment: fsm.Sandbox, Region: fsm.US}
	cfg.Session, cfg.App = sess, func() reconcile.AppSession { return app }
	return cfg, nil
}

// LegacyURL is the legacy Firebase base URL of a device of profile p: ""
// on current profiles; on legacy ones override, or else the emulator, which
// serves the legacy routes under its root (reference §10.3).
func (s *DemoStack) LegacyURL(p fsm.Profile, override string) string {
	switch {
	case !p.LegacyTokenEndpoint:
		return ""
	case override != "":
		return override
	}
	return s.APIURL
}
