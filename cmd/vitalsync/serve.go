package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

// Environment variables read when the matching flag is not given, so that
// secrets need not appear on command lines.
const (
	envAPIKey        = "VITALSYNC_API_KEY"
	envSessionSecret = "VITALSYNC_SESSION_SECRET"
	// envDatabaseURL is the database when --db is not given: a
	// postgres:// URL may hold a password, which a flag would show in ps.
	envDatabaseURL = "DATABASE_URL"
)

// serveConfig is serve's flags, checked: the issuer's service (its Store
// and Auth are set once opened), and how to serve it.
type serveConfig struct {
	issuer.ServiceConfig
	db, secret        string
	emulator, showKey bool
	shutdown          time.Duration
	server            *serverFlags
}

func parseServeFlags(e *env, args []string) (*serveConfig, error) {
	fs := newFlagSet(e, "serve", "(--db FILE|postgres://… | $"+envDatabaseURL+") (--session-secret-file F | $"+envSessionSecret+") ((--api-key-file F | $"+envAPIKey+") [--api-url U] | --emulator) [--addr HOST:PORT] [--log-format text|json] [--log-level L] [--shutdown-timeout D]")
	c := &serveConfig{}
	fs.StringVar(&c.db, "db", "", "the app user → Vital user map: a postgres:// URL (production, any number of replicas), or a SQLite file (created if missing); default $"+envDatabaseURL)
	apiKey := newSecretFlag(fs, "api-key", envAPIKey,
		"the team API key; with --emulator, the emulator's key (default a random one: $"+envAPIKey+" is not read, so a real key is never printed)")
	secret := newSecretFlag(fs, "session-secret", envSessionSecret, fmt.Sprintf("the HMAC secret of the bearer sessions, at least %d bytes", issuer.MinSecretLen))
	apiURL := &urlFlag{}
	fs.Var(apiURL, "api-url", "team API base URL (default: from the API key's prefix: pk_us_/pk_eu_ production, sk_us_/sk_eu_ sandbox)")
	fs.BoolVar(&c.emulator, "emulator", false, "serve an embedded Junction emulator (with its control plane and web UI under /_emulator/) on the same address and use it as the team API")
	fs.BoolVar(&c.showKey, "show-key", false, "with --emulator, print the emulator's whole API key in the banner (it is masked otherwise)")
	logFormat, logLevel := logFlags(fs, "log")
	durationFlagVar(fs, &c.shutdown, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish (new ones are refused at once)")
	durationFlagVar(fs, &c.ReadyTimeout, "ready-timeout", issuer.DefaultReadyTimeout, "the budget of GET /readyz's checks of the database and the team API")
	durationFlagVar(fs, &c.ReadyInterval, "ready-interval", issuer.DefaultReadyInterval, "how long GET /readyz reuses its last checks' result: the checks (a write to the database, a call to the team API) run at most once per interval")
	fs.IntVar(&c.TeamIdleConns, "api-idle-conns", issuer.DefaultTeamIdleConns, "idle connections kept open to the team API: at least the requests served at once")
	c.server = addServerFlags(fs, "127.0.0.1:8080")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return nil, err
	}
	if err := c.server.check(); err != nil {
		return nil, err
	}
	var err error
	if c.Logger, err = newLogger(e.stderr, logFormat, logLevel); err != nil {
		return nil, err
	}
	if c.emulator {
		// Not for the emulator: its key is printed, and the variable may
		// hold the real one.
		apiKey.env = ""
	}
	if c.APIKey, _, err = apiKey.load(); err != nil {
		return nil, err
	}
	if c.secret, _, err = secret.load(); err != nil {
		return nil, err
	}
	c.APIURL = apiURL.url
	if c.db == "" {
		c.db = os.Getenv(envDatabaseURL)
	}
	return c, c.check()
}

// check refuses a configuration serve cannot run, and derives the team
// API's URL from the key's prefix when it is not given.
func (c *serveConfig) check() error {
	switch {
	case c.db == "":
		return usagef("serve needs --db (or $%s)", envDatabaseURL)
	case c.secret == "":
		return usagef("serve needs --session-secret-file (or $%s)", envSessionSecret)
	case len(c.secret) < issuer.MinSecretLen:
		return usagef("the session secret must be at least %d bytes", issuer.MinSecretLen)
	case c.emulator && c.APIURL != "":
		return usagef("--api-url and --emulator are mutually exclusive")
	case !c.emulator && c.APIKey == "":
		return usagef("serve needs --api-key-file (or $%s) unless --emulator is given", envAPIKey)
	case c.shutdown < 0:
		return usagef("--shutdown-timeout must not be negative")
	case c.ReadyTimeout <= 0:
		return usagef("--ready-timeout must be positive")
	case c.ReadyInterval <= 0:
		return usagef("--ready-interval must be positive")
	case c.TeamIdleConns < 1:
		return usagef("--api-idle-conns must be at least 1")
	}
	if !c.emulator && c.APIURL == "" {
		u, ok := junction.APIBaseURLForKey(c.APIKey)
		if !ok {
			return usagef("cannot tell the API from the key's prefix: give --api-url")
		}
		c.APIURL = u
	}
	return nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	c, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	auth, err := issuer.NewHMACAuthenticator([]byte(c.secret), time.Now)
	if err != nil {
		return usagef("the session secret: %v", err)
	}
	if !postgres.IsURL(c.db) {
		if err := checkNotDeviceFile(ctx, c.db); err != nil {
			return err
		}
	}
	store, dbName, err := openIssuerDB(ctx, c.db)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.server.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	var emu *emulator.Emulator
	if c.emulator {
		emu = emulator.New(emulator.WithClock(time.Now), emulator.WithAPIKey(c.APIKey),
			emulator.WithControlHosts(httpops.ListenHosts(ln.Addr())...))
		c.APIKey, c.APIURL = emu.APIKey(), "http://"+httpops.LoopbackAddr(ln.Addr())
		defer publishToken(c.Logger, ln, emu)()
	}
	c.Store, c.Auth = store, auth
	if emu != nil {
		c.Fallback = emu.Handler() // the API, its control plane and web UI
	}
	root, err := issuer.NewService(c.ServiceConfig)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return c.server.serve(ctx, c.Logger, "issuer", ln, root, c.shutdown, e.stdout, serveBanner(c, "http://"+ln.Addr().String(), dbName, emu),
		"emulator", emu != nil, "user_map", dbName)
}

// serveBanner is what serve prints once it accepts: its routes, the user
// map, and the embedded emulator's or the team API's URLs.
func serveBanner(c *serveConfig, base, dbName string, emu *emulator.Emulator) string {
	var b strings.Builder
	fmt.Fprintf(&b, "issuer listening on %s\n", base)
	for _, r := range []struct{ name, method, path string }{
		{"sign-in token", "POST", issuer.PathSignInToken}, {"vital user", "GET ", issuer.PathVitalUser},
		{"report", "POST", issuer.PathInstallationReport}, {"health", "GET ", issuer.PathHealth},
		{"ready", "GET ", httpops.PathReady}, {"metrics", "GET ", issuer.PathMetrics},
	} {
		fmt.Fprintf(&b, "  %-14s %s %s%s\n", r.name+":", r.method, base, r.path)
	}
	fmt.Fprintf(&b, "user map: %s\n", dbName)
	if emu == nil {
		fmt.Fprintf(&b, "team API: %s\n", c.APIURL)
		return b.String()
	}
	// The emulator's key is made up for local use and devices in API-key
	// mode need it: printing it is the point. A real key is never printed.
	// The control plane shares the issuer's address behind the emulator's
	// per-process token, shown here only.
	shown := junction.MaskKey(c.APIKey)
	if c.showKey {
		shown = c.APIKey
	}
	fmt.Fprintf(&b, "emulator on the same address:\n  API base URL:  %s\n  auth base URL: %s/auth\n  control token: %s\n  API key:       %s\n  web UI:        %s%sui\n",
		base, base, emu.ControlToken(), shown, base, emulator.ControlPrefix)
	return b.String()
}

// issuerDB is the issuer's database serve and fleet generate open: SQLite
// or PostgreSQL.
type issuerDB interface {
	issuer.PingStore
	LoadFleet(ctx context.Context, next func() ([]string, bool)) error
	Close() error
}

// openIssuerDB opens spec, a postgres:// (or postgresql://) URL or a
// SQLite file path, and returns it with a name to print: the URL without
// its password, or the path.
func openIssuerDB(ctx context.Context, spec string) (issuerDB, string, error) {
	if postgres.IsURL(spec) {
		db, err := postgres.Open(ctx, spec)
		if err != nil {
			return nil, "", err
		}
		return db, postgres.Redacted(spec), nil
	}
	db, err := sqlite.OpenIssuer(ctx, spec)
	if err != nil {
		return nil, "", err
	}
	return db, spec, nil
}
