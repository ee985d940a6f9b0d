package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

func init() {
	register(command{name: "serve", summary: "run the backend's sign-in token issuer (optionally with an embedded emulator)", run: runServe})
}

// Environment variables read when the matching flag is not given, so that
// secrets need not appear on command lines.
const (
	envAPIKey        = "VITALSYNC_API_KEY"
	envSessionSecret = "VITALSYNC_SESSION_SECRET"
	// envDatabaseURL is the database when --db is not given: a
	// postgres:// URL may hold a password, which a flag would show in ps.
	envDatabaseURL = "DATABASE_URL"
)

// Defaults of serve's operational flags.
const (
	defaultShutdownTimeout = 30 * time.Second
	defaultReadyTimeout    = 2 * time.Second
	defaultReadyInterval   = 5 * time.Second
	// defaultAPIIdleConns is the team API client's pool of idle connections
	// to the API host: at least the requests a replica serves at once, so
	// that a burst reuses connections instead of opening one per call (Go's
	// default keeps two per host).
	defaultAPIIdleConns = 256
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "(--db FILE|postgres://… | $"+envDatabaseURL+") (--session-secret-file F | $"+envSessionSecret+") ((--api-key-file F | $"+envAPIKey+") [--api-url U] | --emulator) [--addr HOST:PORT] [--log-format text|json] [--log-level L] [--shutdown-timeout D]")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
	dbFlag := fs.String("db", "", "the app user → Vital user map: a postgres:// URL (production, any number of replicas), or a SQLite file (created if missing); default $"+envDatabaseURL)
	apiKeyFlag := newSecretFlag(fs, "api-key", envAPIKey,
		"the team API key; with --emulator, the emulator's key (default a random one: $"+envAPIKey+" is not read, so a real key is never printed)")
	secretFlag := newSecretFlag(fs, "session-secret", envSessionSecret,
		fmt.Sprintf("the HMAC secret of the bearer sessions, at least %d bytes", issuer.MinSecretLen))
	apiURLFlag := &urlFlag{}
	fs.Var(apiURLFlag, "api-url", "team API base URL (default: from the API key's prefix: pk_us_/pk_eu_ production, sk_us_/sk_eu_ sandbox)")
	useEmulator := fs.Bool("emulator", false, "serve an embedded Junction emulator (with its control plane and web UI under /_emulator/) on the same address and use it as the team API")
	showKey := fs.Bool("show-key", false, "with --emulator, print the emulator's whole API key in the banner (it is masked otherwise)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text|json")
	logLevel := fs.String("log-level", "info", "least level logged: debug|info|warn|error")
	shutdownTimeout := durationFlag(fs, "shutdown-timeout", defaultShutdownTimeout, "on SIGINT/SIGTERM, how long in-flight requests may take to finish (new ones are refused at once)")
	readyTimeout := durationFlag(fs, "ready-timeout", defaultReadyTimeout, "the budget of GET /readyz's checks of the database and the team API")
	readyInterval := durationFlag(fs, "ready-interval", defaultReadyInterval, "how long GET /readyz reuses its last checks' result: the checks (a write to the database, a call to the team API) run at most once per interval")
	idleConns := fs.Int("api-idle-conns", defaultAPIIdleConns, "idle connections kept open to the team API: at least the requests served at once")
	limits := addServerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := limits.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments")
	}
	log, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	se := *e
	se.log = log
	e = &se
	apiURL := &apiURLFlag.url
	if *useEmulator {
		// Not for the emulator: its key is printed, and the variable may
		// hold the real one.
		apiKeyFlag.env = ""
	}
	apiKey, _, err := apiKeyFlag.load()
	if err != nil {
		return err
	}
	secret, _, err := secretFlag.load()
	if err != nil {
		return err
	}
	dbSpec := *dbFlag
	if dbSpec == "" {
		dbSpec = os.Getenv(envDatabaseURL)
	}
	switch {
	case dbSpec == "":
		return usagef("serve needs --db (or $%s)", envDatabaseURL)
	case secret == "":
		return usagef("serve needs --session-secret-file (or $%s)", envSessionSecret)
	case len(secret) < issuer.MinSecretLen:
		return usagef("the session secret must be at least %d bytes", issuer.MinSecretLen)
	case *useEmulator && *apiURL != "":
		return usagef("--api-url and --emulator are mutually exclusive")
	case !*useEmulator && apiKey == "":
		return usagef("serve needs --api-key-file (or $%s) unless --emulator is given", envAPIKey)
	case *shutdownTimeout < 0:
		return usagef("--shutdown-timeout must not be negative")
	case *readyTimeout <= 0:
		return usagef("--ready-timeout must be positive")
	case *readyInterval <= 0:
		return usagef("--ready-interval must be positive")
	case *idleConns < 1:
		return usagef("--api-idle-conns must be at least 1")
	}
	if !*useEmulator && *apiURL == "" {
		u, ok := apiURLForKey(apiKey)
		if !ok {
			return usagef("cannot tell the API from the key's prefix: give --api-url")
		}
		*apiURL = u
	}
	auth, err := issuer.NewHMACAuthenticator([]byte(secret), time.Now)
	if err != nil {
		return usagef("the session secret: %v", err)
	}

	if err := checkAddr("addr", *addr); err != nil {
		return err
	}
	if !isPostgresURL(dbSpec) {
		if err := checkNotDeviceFile(ctx, dbSpec); err != nil {
			return err
		}
	}
	store, dbName, err := openUserStore(ctx, dbSpec)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	base := "http://" + ln.Addr().String()

	var emu *emulator.Emulator
	if *useEmulator {
		emu = emulator.New(emulator.WithClock(time.Now), emulator.WithAPIKey(apiKey),
			emulator.WithControlHosts(listenHosts(ln.Addr())...))
		apiKey = emu.APIKey()
		*apiURL = "http://" + loopbackAddr(ln.Addr())
	}
	reg, err := serveRegistry()
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	dials := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vitalsync_team_api_dials_total",
		Help: "Connections the team API client opened; with a pool sized for the load, few after warm-up.",
	})
	reg.MustRegister(dials)
	team := junction.NewClient(*apiURL, apiKey, junction.WithHTTPClient(&http.Client{Transport: teamTransport(*idleConns, dials)}))
	cfg := issuer.Config{Team: team, Store: store, Auth: auth, Logger: e.log, Registerer: reg}
	if reports, ok := store.(issuer.ReportStore); ok {
		cfg.Reports = reports // installation reports: SQLite and PostgreSQL
	}
	h, err := issuer.New(cfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	ready := httpops.ReadyEvery(e.log, *readyTimeout, *readyInterval,
		httpops.Check{Name: "database", Func: store.Ping},
		httpops.Check{Name: "team_api", Func: func(ctx context.Context) error { _, err := team.ListUsers(ctx, 0, 1); return err }},
	)
	var emuHandler http.Handler
	if emu != nil {
		emuHandler = emu.Handler() // the API, its control plane and web UI
	}
	root := withRequestLog(e.log, emu != nil, routes(h, ready, emuHandler))
	if emu != nil {
		unpublish, err := publishControlToken(ln.Addr().(*net.TCPAddr).Port, emu.ControlToken())
		if err != nil {
			e.log.Warn("control token not left for the emulator subcommands (it is printed below)", "error", err.Error())
		}
		defer unpublish()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "issuer listening on %s\n", base)
	fmt.Fprintf(&b, "  sign-in token: POST %s%s\n", base, issuer.PathSignInToken)
	fmt.Fprintf(&b, "  vital user:    GET  %s%s\n", base, issuer.PathVitalUser)
	fmt.Fprintf(&b, "  report:        POST %s%s\n", base, issuer.PathInstallationReport)
	fmt.Fprintf(&b, "  health:        GET  %s%s\n", base, issuer.PathHealth)
	fmt.Fprintf(&b, "  ready:         GET  %s%s\n", base, pathReady)
	fmt.Fprintf(&b, "  metrics:       GET  %s%s\n", base, issuer.PathMetrics)
	fmt.Fprintf(&b, "user map: %s\n", dbName)
	if emu != nil {
		// The emulator's key is made up for local use and devices in API-key
		// mode need it: printing it is the point. A real key is never printed.
		fmt.Fprintf(&b, "emulator on the same address:\n")
		fmt.Fprintf(&b, "  API base URL:  %s\n", base)
		fmt.Fprintf(&b, "  auth base URL: %s/auth\n", base)
		// The control plane shares the issuer's address behind the
		// emulator's per-process token, shown here only.
		fmt.Fprintf(&b, "  control token: %s\n", emu.ControlToken())
		shown := maskKey(apiKey)
		if *showKey {
			shown = apiKey
		}
		fmt.Fprintf(&b, "  API key:       %s\n", shown)
		fmt.Fprintf(&b, "  web UI:        %s%sui\n", base, emulator.ControlPrefix)
	} else {
		fmt.Fprintf(&b, "team API: %s\n", *apiURL)
	}
	return serveUntilDoneWithin(ctx, e, "issuer", ln, root, *shutdownTimeout, limits, func() error {
		_, err := fmt.Fprint(e.stdout, b.String())
		if err == nil {
			e.log.Info("issuer serving", "addr", ln.Addr().String(), "emulator", emu != nil, "user_map", dbName)
		}
		return err
	})
}

// userStore is the user map serve runs on: SQLite or PostgreSQL.
type userStore interface {
	issuer.UserStore
	Ping(ctx context.Context) error
	Close() error
}

// openUserStore opens spec, a postgres:// (or postgresql://) URL or a
// SQLite file path, and returns it with a name to print: the URL without
// its password, or the path.
func openUserStore(ctx context.Context, spec string) (userStore, string, error) {
	if isPostgresURL(spec) {
		name := "postgres"
		if u, err := url.Parse(spec); err == nil {
			name = u.Redacted()
		}
		db, err := postgres.Open(ctx, spec)
		if err != nil {
			return nil, "", err
		}
		return db, name, nil
	}
	db, err := sqlite.OpenIssuer(ctx, spec)
	if err != nil {
		return nil, "", err
	}
	return db, spec, nil
}

// isPostgresURL reports whether --db names a PostgreSQL database.
func isPostgresURL(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// teamTransport is the team API client's transport: Go's default, with
// idle idle connections kept per host, counting the connections it opens
// on dials.
func teamTransport(idle int, dials prometheus.Counter) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = idle
	tr.MaxIdleConnsPerHost = idle
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Inc()
		return dial(ctx, network, addr)
	}
	return tr
}

// pathReady is serve's readiness route; the issuer's /healthz is liveness.
const pathReady = httpops.PathReady

// routes serves /readyz with ready, the issuer's paths with h, and
// everything else with the emulator when there is one, else with h (its
// 404); exact paths, as mountWithEmulator says why.
func routes(h http.Handler, ready http.Handler, emu http.Handler) http.Handler {
	var rest http.Handler = h
	if emu != nil {
		rest = mountWithEmulator(h, emu)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathReady {
			ready.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// mountWithEmulator serves the issuer's paths with h and everything else
// with the emulator, so one address is the devices' issuer, API and auth
// base URL. It matches exact paths instead of using http.ServeMux, whose
// path cleaning would answer some requests with a redirect instead of
// passing them on as sent (e.g. a client_user_id holding "/../").
func mountWithEmulator(h http.Handler, emu http.Handler) http.Handler {
	paths := issuer.Paths()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(paths, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		emu.ServeHTTP(w, r)
	})
}

// serveRegistry is serve's metrics registry: the Go runtime's and the
// process's collectors and vitalsync_build_info; the issuer adds its own.
func serveRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := httpops.RegisterProcessMetrics(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// loopbackAddr is addr with an unspecified host (0.0.0.0, ::) replaced by
// the loopback address, for calling ourselves.
func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return (&net.TCPAddr{IP: ip, Port: tcp.Port}).String()
}

// apiURLForKey derives the team API base URL from a key's documented prefix.
func apiURLForKey(key string) (string, bool) {
	for _, k := range []struct {
		prefix string
		env    fsm.Environment
		region fsm.Region
	}{
		{"pk_us_", fsm.Production, fsm.US},
		{"pk_eu_", fsm.Production, fsm.EU},
		{"sk_us_", fsm.Sandbox, fsm.US},
		{"sk_eu_", fsm.Sandbox, fsm.EU},
	} {
		if strings.HasPrefix(key, k.prefix) {
			return junction.APIBaseURL(k.env, k.region), true
		}
	}
	return "", false
}
