package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/fsm"
)

func init() {
	register(command{name: "serve", summary: "run the backend's sign-in token issuer (optionally with an embedded emulator)", run: runServe})
}

// Environment variables read when the matching flag is not given, so that
// secrets need not appear on command lines.
const (
	envAPIKey        = "VITALSYNC_API_KEY"
	envSessionSecret = "VITALSYNC_SESSION_SECRET"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "--db FILE --session-secret S (--api-key K [--api-url U] | --emulator [--api-key K]) [--addr HOST:PORT]")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
	dbPath := fs.String("db", "", "SQLite file holding the app user → Vital user map (created if missing)")
	apiKey := fs.String("api-key", "", "the team API key (default $"+envAPIKey+"); with --emulator, the emulator's key (default a random one: $"+envAPIKey+" is not read, so a real key is never printed)")
	secret := fs.String("session-secret", "", fmt.Sprintf("HMAC secret of the bearer sessions, at least %d bytes (default $%s)", issuer.MinSecretLen, envSessionSecret))
	apiURL := fs.String("api-url", "", "team API base URL (default: from the API key's prefix: pk_us_/pk_eu_ production, sk_us_/sk_eu_ sandbox)")
	useEmulator := fs.Bool("emulator", false, "serve an embedded Junction emulator on the same address and use it as the team API")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments")
	}
	if *apiKey == "" && !*useEmulator {
		// Not for the emulator: its key is printed, and the variable may
		// hold the real one.
		*apiKey = os.Getenv(envAPIKey)
	}
	if *secret == "" {
		*secret = os.Getenv(envSessionSecret)
	}
	switch {
	case *dbPath == "":
		return usagef("serve needs --db")
	case *secret == "":
		return usagef("serve needs --session-secret (or $%s)", envSessionSecret)
	case len(*secret) < issuer.MinSecretLen:
		return usagef("--session-secret must be at least %d bytes", issuer.MinSecretLen)
	case *useEmulator && *apiURL != "":
		return usagef("--api-url and --emulator are mutually exclusive")
	case !*useEmulator && *apiKey == "":
		return usagef("serve needs --api-key (or $%s) unless --emulator is given", envAPIKey)
	}
	if !*useEmulator && *apiURL == "" {
		u, ok := apiURLForKey(*apiKey)
		if !ok {
			return usagef("cannot tell the API from the key's prefix: give --api-url")
		}
		*apiURL = u
	}
	auth, err := issuer.NewHMACAuthenticator([]byte(*secret), time.Now)
	if err != nil {
		return usagef("--session-secret: %v", err)
	}

	db, err := sqlite.Open(ctx, *dbPath)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer db.Close()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	base := "http://" + ln.Addr().String()

	var emu *emulator.Emulator
	if *useEmulator {
		emu = emulator.New(emulator.WithClock(time.Now), emulator.WithAPIKey(*apiKey))
		*apiKey = emu.APIKey()
		*apiURL = "http://" + loopbackAddr(ln.Addr())
	}
	team := junction.NewClient(*apiURL, *apiKey)
	h, err := issuer.New(issuer.Config{Team: team, Store: db, Reports: db, Auth: auth, Logger: e.log})
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	var root http.Handler = h
	if emu != nil {
		root = mountWithEmulator(h, emu)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "issuer listening on %s\n", base)
	fmt.Fprintf(&b, "  sign-in token: POST %s%s\n", base, issuer.PathSignInToken)
	fmt.Fprintf(&b, "  vital user:    GET  %s%s\n", base, issuer.PathVitalUser)
	fmt.Fprintf(&b, "  report:        POST %s%s\n", base, issuer.PathInstallationReport)
	fmt.Fprintf(&b, "  health:        GET  %s%s\n", base, issuer.PathHealth)
	fmt.Fprintf(&b, "  metrics:       GET  %s%s\n", base, issuer.PathMetrics)
	if emu != nil {
		// The emulator's key is made up for local use and devices in API-key
		// mode need it: printing it is the point. A real key is never printed.
		fmt.Fprintf(&b, "emulator on the same address:\n")
		fmt.Fprintf(&b, "  API base URL:  %s\n", base)
		fmt.Fprintf(&b, "  auth base URL: %s/auth\n", base)
		fmt.Fprintf(&b, "  API key:       %s\n", *apiKey)
	} else {
		fmt.Fprintf(&b, "team API: %s\n", *apiURL)
	}
	return serveUntilDone(ctx, e, "issuer", ln, root, func() error {
		_, err := fmt.Fprint(e.stdout, b.String())
		if err == nil {
			e.log.Info("issuer serving", "addr", ln.Addr().String(), "emulator", emu != nil)
		}
		return err
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
