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
	"path/filepath"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

func init() {
	register(command{name: "emulator", summary: "serve the Junction API emulator, or steer a running one (state, fail, revoke, advance, …)", run: runEmulator})
}

// envEmulatorAPIKey holds the emulator's team API key when neither
// --api-key nor --api-key-file is given: not $VITALSYNC_API_KEY, so that a
// real key set for "serve" never becomes the emulator's (and lands in its
// state file).
const envEmulatorAPIKey = "VITALSYNC_EMULATOR_API_KEY"

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
		"[--api-key-file F | $"+envEmulatorAPIKey+"] [--show-key] [--team-id T] [--token-ttl D] [--access-ttl D] [--environment E] [--region R] [--log-format text|json]\n"+
		"       vitalsync emulator SUBCOMMAND [--url URL] [flags]   (subcommands: "+strings.Join(emulatorSubcommandNames(), ", ")+")")
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on; port 0 picks a free port")
	apiKeyFlag := newSecretFlag(fs, "api-key", envEmulatorAPIKey, "the team API key to accept (default: a random sk_/pk_ key)")
	showKey := fs.Bool("show-key", false, "print the whole API key in the banner (it is masked otherwise)")
	teamID := fs.String("team-id", "", "the team ID (default: a random UUID)")
	tokenTTL := durationFlag(fs, "token-ttl", emulator.DefaultTokenTTL, "how long Sign-In Tokens stay exchangeable")
	accessTTL := durationFlag(fs, "access-ttl", emulator.DefaultAccessTTL, "how long access tokens stay valid (at least 1s)")
	envName := fs.String("environment", string(fsm.Sandbox), "environment to emulate, for the token issuer: "+choices(fsm.Environments()))
	regionName := fs.String("region", string(fsm.US), "region to emulate, for the token issuer: "+choices(fsm.Regions()))
	dataDir := fs.String("data", "", "directory keeping the state (users, tokens, the signing key) across restarts: "+emulator.SnapshotFile+" and the changes since in "+emulator.LogFile)
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
	apiKey, apiKeyGiven, err := apiKeyFlag.load()
	if err != nil {
		return err
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
	if err := checkAddr("addr", *addr); err != nil {
		return err
	}
	log := e.log
	if *logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	se := *e
	se.log = log

	// Listen first: the control plane answers only the addresses it
	// listens on.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	opts := []emulator.Option{
		emulator.WithClock(time.Now),
		emulator.WithControlHosts(listenHosts(ln.Addr())...),
		emulator.WithTokenTTL(*tokenTTL),
		emulator.WithAccessTTL(*accessTTL),
		emulator.WithObserver(func(r emulator.RequestRecord) {
			log.Info("request", "method", r.Method, "path", r.Path, "status", r.Status, "latency", r.Latency, "route", r.Route)
		}),
		// The identity flags; a loaded state's own identity wins (and a
		// flag that contradicts it is refused below).
		emulator.WithAPIKey(apiKey), emulator.WithTeamID(*teamID), emulator.WithEnvironment(environment, region),
	}
	// The state to start from: --import, else what --data keeps, if
	// anything. Both are read record by record: memory holds the state,
	// not the file too.
	var (
		em     *emulator.Emulator
		source string
	)
	switch {
	case *importFile != "":
		if k, err := sniffKind(*importFile); err == nil && k == kindEmpty {
			return usageErr(fmt.Errorf("%w: --import %s is empty, not an emulator state", errEmptyInput, *importFile))
		} else if err == nil && k != kindJSONDoc && k != kindJSONL {
			return usageErr(fmt.Errorf("%w: --import %s is %s, not an emulator state (the JSON that --export-on-exit writes)%s",
				errWrongKind, *importFile, k, auditHint(k)))
		}
		if em, err = emulator.LoadStateFile(*importFile, opts...); err != nil {
			return fmt.Errorf("emulator: --import: %w", err)
		}
		source = *importFile
	case *dataDir != "":
		em, err = emulator.LoadDir(*dataDir, opts...)
		switch {
		case err == nil:
			source = filepath.Join(*dataDir, emulator.SnapshotFile)
		case !errors.Is(err, iofs.ErrNotExist):
			return fmt.Errorf("emulator: --data: %w", err)
		}
	}
	if em != nil {
		if err := checkStateFlags(fs, em, source, apiKey, apiKeyGiven); err != nil {
			return err
		}
	} else {
		em = emulator.New(opts...)
	}
	for i := 1; i <= *seedUsers; i++ {
		if _, err := em.CreateUser(fmt.Sprintf("seed-user-%03d", i)); err != nil && !errors.Is(err, emulator.ErrClientUserIDTaken) {
			return fmt.Errorf("emulator: --seed-users: %w", err)
		}
	}

	var handler http.Handler = em.Handler()
	var store *emulator.Dir
	if *dataDir != "" {
		// The whole state once (the signing key, the seeded or imported
		// users), then each change as one line of the log.
		if store, err = emulator.AttachDir(*dataDir, em); err != nil {
			return fmt.Errorf("emulator: --data: %w", err)
		}
		handler = flushAfterEachRequest(handler, store, log)
	}

	base := "http://" + ln.Addr().String()
	env, reg := em.Environment()
	unpublish, err := publishControlToken(port, em.ControlToken())
	if err != nil {
		log.Warn("control token not left for the subcommands (it is printed below)", "error", err.Error())
	}
	defer unpublish()
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
			lines += "State file:    " + filepath.Join(store.Path(), emulator.SnapshotFile) + "\n"
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
		if err := store.Close(); err != nil {
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
// contradict the loaded state: the state's key, team and environment are
// what issued its tokens.
func checkStateFlags(fs *flag.FlagSet, em *emulator.Emulator, source, apiKey string, apiKeyGiven bool) error {
	if apiKeyGiven && apiKey != em.APIKey() {
		// Not echoed: it is an API key.
		return usageErr(fmt.Errorf("%w: the API key (--api-key, --api-key-file or $%s) differs from the one kept in %s; drop it, or start from an empty --data directory",
			errStateConflict, envEmulatorAPIKey, source))
	}
	env, region := em.Environment()
	held := map[string]string{"team-id": em.TeamID(), "environment": string(env), "region": string(region)}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if want, ok := held[f.Name]; ok && err == nil && f.Value.String() != want {
			err = usageErr(fmt.Errorf("%w: --%s differs from the one kept in %s; drop the flag, or start from an empty --data directory",
				errStateConflict, f.Name, source))
		}
	})
	return err
}

// flushAfterEachRequest writes the changes a request made to the state
// directory's log, synced, before the answer leaves the server's buffer,
// so a client that saw an answer finds its effect after a restart. A
// change is one short line whatever the state's size; concurrent requests
// share one sync. GET and HEAD change nothing, so they never wait for
// another request's sync.
func flushAfterEachRequest(h http.Handler, store *emulator.Dir, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return
		}
		if err := store.Flush(); err != nil {
			log.Error("cannot save the emulator state", "dir", store.Path(), "err", err)
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
