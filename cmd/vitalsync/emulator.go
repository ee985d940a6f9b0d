package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

func init() {
	register(command{name: "emulator", summary: "serve the Junction API emulator, or steer a running one (state, fail, revoke, advance, …)", run: runEmulator})
}

// stateFileName is the file under --data that holds the emulator's state.
const stateFileName = "emulator.json"

// maxSeedUsers bounds --seed-users.
const maxSeedUsers = 10000

// errStateConflict is matched by the usage error of an identity flag
// (--api-key, --team-id, --environment, --region) that contradicts the state
// loaded from --data or --import.
var errStateConflict = errors.New("a flag contradicts the loaded state")

func runEmulator(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return runEmulatorClient(ctx, e, args[0], args[1:])
	}
	fs := newFlagSet(e, "emulator", "[--addr HOST:PORT] [--data DIR] [--import FILE] [--export-on-exit FILE] [--seed-users N] "+
		"[--api-key K] [--show-key] [--team-id T] [--token-ttl D] [--access-ttl D] [--environment E] [--region R] [--log-format text|json]\n"+
		"       vitalsync emulator SUBCOMMAND [--url URL] [flags]   (subcommands: "+strings.Join(emulatorSubcommandNames(), ", ")+")")
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on; port 0 picks a free port")
	apiKey := fs.String("api-key", "", "the team API key to accept (default: a random sk_/pk_ key)")
	showKey := fs.Bool("show-key", false, "print the whole API key in the banner (it is masked otherwise)")
	teamID := fs.String("team-id", "", "the team ID (default: a random UUID)")
	tokenTTL := fs.Duration("token-ttl", emulator.DefaultTokenTTL, "how long Sign-In Tokens stay exchangeable")
	accessTTL := fs.Duration("access-ttl", emulator.DefaultAccessTTL, "how long access tokens stay valid (at least 1s)")
	envName := fs.String("environment", string(fsm.Sandbox), "environment to emulate, for the token issuer: "+choices(fsm.Environments()))
	regionName := fs.String("region", string(fsm.US), "region to emulate, for the token issuer: "+choices(fsm.Regions()))
	dataDir := fs.String("data", "", "directory keeping the state (users, tokens, the signing key) across restarts, in "+stateFileName)
	importFile := fs.String("import", "", "JSON state file to start from (replaces the state in --data)")
	exportFile := fs.String("export-on-exit", "", "write the state as JSON to this file when the emulator stops")
	seedUsers := fs.Int("seed-users", 0, "create users seed-user-001 … seed-user-N at start (those that exist are kept)")
	logFormat := fs.String("log-format", "text", "request log format on stderr: text|json")
	limits := addServerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := limits.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("emulator takes no arguments besides a subcommand (%s)", strings.Join(emulatorSubcommandNames(), ", "))
	}
	environment, ok := fsm.ParseEnvironment(*envName)
	if !ok {
		return usagef("--environment must be one of %s, not %q", choices(fsm.Environments()), *envName)
	}
	region, ok := fsm.ParseRegion(*regionName)
	if !ok {
		return usagef("--region must be one of %s, not %q", choices(fsm.Regions()), *regionName)
	}
	if *tokenTTL <= 0 {
		return usagef("--token-ttl must be positive, not %v", *tokenTTL)
	}
	if *accessTTL < time.Second {
		return usagef("--access-ttl must be at least 1s, not %v", *accessTTL)
	}
	if *seedUsers < 0 || *seedUsers > maxSeedUsers {
		return usagef("--seed-users must be between 0 and %d, not %d", maxSeedUsers, *seedUsers)
	}
	if err := oneOf("log-format", *logFormat, "text", "json"); err != nil {
		return err
	}
	log := e.log
	if *logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	se := *e
	se.log = log

	// The state to start from: --import, else --data's file if any.
	var (
		st     *emulator.State
		source string
	)
	switch {
	case *importFile != "":
		s, err := emulator.ReadStateFile(*importFile)
		if err != nil {
			return fmt.Errorf("emulator: --import: %w", err)
		}
		st, source = &s, *importFile
	case *dataDir != "":
		path := filepath.Join(*dataDir, stateFileName)
		s, err := emulator.ReadStateFile(path)
		switch {
		case err == nil:
			st, source = &s, path
		case !errors.Is(err, iofs.ErrNotExist):
			return fmt.Errorf("emulator: --data: %w", err)
		}
	}

	// Listen first: the control plane answers only the addresses it
	// listens on.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer ln.Close()
	opts := []emulator.Option{
		emulator.WithClock(time.Now),
		emulator.WithControlHosts(listenHosts(ln.Addr())...),
		emulator.WithTokenTTL(*tokenTTL),
		emulator.WithAccessTTL(*accessTTL),
		emulator.WithObserver(func(r emulator.RequestRecord) {
			log.Info("request", "method", r.Method, "path", r.Path, "status", r.Status, "latency", r.Latency, "route", r.Route)
		}),
	}
	var em *emulator.Emulator
	if st != nil {
		if err := checkStateFlags(fs, *st, source); err != nil {
			return err
		}
		var err error
		if em, err = emulator.NewFromState(*st, opts...); err != nil {
			return fmt.Errorf("emulator: %s: %w", source, err)
		}
	} else {
		em = emulator.New(append(opts, emulator.WithAPIKey(*apiKey), emulator.WithTeamID(*teamID),
			emulator.WithEnvironment(environment, region))...)
	}
	for i := 1; i <= *seedUsers; i++ {
		if _, err := em.CreateUser(fmt.Sprintf("seed-user-%03d", i)); err != nil && !errors.Is(err, emulator.ErrClientUserIDTaken) {
			return fmt.Errorf("emulator: --seed-users: %w", err)
		}
	}

	var handler http.Handler = em.Handler()
	var store *stateStore
	if *dataDir != "" {
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			return fmt.Errorf("emulator: --data: %w", err)
		}
		store = &stateStore{em: em, path: filepath.Join(*dataDir, stateFileName)}
		if err := store.save(); err != nil { // the signing key and the seeded users, at once
			return fmt.Errorf("emulator: --data: %w", err)
		}
		handler = store.saveAfterChanges(handler, log)
	}

	base := "http://" + ln.Addr().String()
	env, reg := em.Environment()
	serveErr := serveUntilDone(ctx, &se, "emulator", ln, handler, limits, func() error {
		key := maskKey(em.APIKey())
		if *showKey {
			// The API key is the emulator's own, made up for local use:
			// printing it on request is the point. Stdout only, never the
			// log.
			key = em.APIKey()
		}
		lines := fmt.Sprintf("API base URL:  %s\nAuth base URL: %s/auth\nAPI key:       %s\nTeam ID:       %s\nEnvironment:   %s %s\n",
			base, base, key, em.TeamID(), env, reg)
		if store != nil {
			lines += "State file:    " + store.path + "\n"
		}
		// The web UI's line comes last: scripts may read up to it.
		// The control token is the emulator's own, per process: its owner
		// needs it for every change (the UI's forms carry it; the
		// subcommands read $VITALSYNC_EMULATOR_TOKEN or --control-token-file).
		lines += fmt.Sprintf("Control token: %s\nControl plane: %s%s\nWeb UI:        %s%sui\n",
			em.ControlToken(), base, emulator.ControlPrefix, base, emulator.ControlPrefix)
		_, err := fmt.Fprint(e.stdout, lines)
		if err == nil {
			log.Info("emulator serving", "addr", ln.Addr().String(), "environment", env, "region", reg)
		}
		return err
	})
	// The state is written on the way out even when serving failed.
	var errs []error
	if store != nil {
		if err := store.save(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: --data: %w", err))
		}
	}
	if *exportFile != "" {
		if err := emulator.WriteStateFile(*exportFile, em.Export()); err != nil {
			errs = append(errs, fmt.Errorf("emulator: --export-on-exit: %w", err))
		} else {
			log.Info("emulator state exported", "file", *exportFile)
		}
	}
	return errors.Join(append([]error{serveErr}, errs...)...)
}

// checkStateFlags refuses identity flags set on the command line that
// contradict a loaded state: the state's key, team and environment are what
// issued its tokens.
func checkStateFlags(fs *flag.FlagSet, st emulator.State, source string) error {
	held := map[string]string{"api-key": st.APIKey, "team-id": st.TeamID, "environment": st.Environment, "region": st.Region}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if want, ok := held[f.Name]; ok && err == nil && f.Value.String() != want {
			// Not echoed: the values may be API keys.
			err = usageErr(fmt.Errorf("%w: --%s differs from the one kept in %s; drop the flag, or start from an empty --data directory",
				errStateConflict, f.Name, source))
		}
	})
	return err
}

// stateStore writes the emulator's state to its --data file.
type stateStore struct {
	mu   sync.Mutex
	em   *emulator.Emulator
	path string
}

// save writes the whole state atomically.
func (s *stateStore) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return emulator.WriteStateFile(s.path, s.em.Export())
}

// saveAfterChanges saves the state after every request that may change it
// (any method but GET and HEAD), before the answer leaves the server's
// buffer, so a client that saw an answer finds its effect after a restart.
func (s *stateStore) saveAfterChanges(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return
		}
		if err := s.save(); err != nil {
			log.Error("cannot save the emulator state", "file", s.path, "err", err)
		}
	})
}

// maskKey shows an API key the way Stripe's dashboard does: its prefix
// ("sk_us_") and last four characters, "sk_us_…0000".
func maskKey(key string) string {
	prefix := ""
	if i := strings.Index(key, "_"); i > 0 {
		if j := strings.Index(key[i+1:], "_"); j > 0 {
			prefix = key[:i+1+j+1]
		}
	}
	if len(key)-len(prefix) < 12 {
		return prefix + "…"
	}
	return prefix + "…" + key[len(key)-4:]
}

// choices lists the allowed values of a flag, e.g. "us|eu".
func choices[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}
