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

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/httpops"
)

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

// emulatorConfig is the emulator's flags, checked.
type emulatorConfig struct {
	fs                              *flag.FlagSet
	teamID, apiKey                  string
	apiKeyGiven, showKey            bool
	tokenTTL, accessTTL             time.Duration
	environment                     *enumValue[fsm.Environment]
	region                          *enumValue[fsm.Region]
	dataDir, importFile, exportFile string
	seedUsers                       int
	server                          *serverFlags
	log                             *slog.Logger
}

func parseEmulatorFlags(e *env, args []string) (*emulatorConfig, error) {
	fs := newFlagSet(e, "emulator", "[--addr HOST:PORT] [--data DIR] [--import FILE] [--export-on-exit FILE] [--seed-users N] "+
		"[--api-key-file F | $"+envEmulatorAPIKey+"] [--show-key] [--team-id T] [--token-ttl D] [--access-ttl D] [--environment E] [--region R] [--log-format text|json]\n"+
		"       vitalsync emulator SUBCOMMAND [--url URL] [flags]   (subcommands: "+strings.Join(emulatorSubcommandNames(), ", ")+")")
	c := &emulatorConfig{fs: fs}
	apiKey := newSecretFlag(fs, "api-key", envEmulatorAPIKey, "the team API key to accept (default: a random sk_/pk_ key)")
	fs.BoolVar(&c.showKey, "show-key", false, "print the whole API key in the banner (it is masked otherwise)")
	fs.StringVar(&c.teamID, "team-id", "", "the team ID (default: a random UUID)")
	durationFlagVar(fs, &c.tokenTTL, "token-ttl", emulator.DefaultTokenTTL, "how long Sign-In Tokens stay exchangeable")
	durationFlagVar(fs, &c.accessTTL, "access-ttl", emulator.DefaultAccessTTL, "how long access tokens stay valid (at least 1s)")
	c.environment = environmentFlag(fs, fsm.Sandbox, "environment to emulate, for the token issuer")
	c.region = regionFlag(fs, fsm.US, "region to emulate, for the token issuer")
	fs.StringVar(&c.dataDir, "data", "", "directory keeping the state (users, tokens, the signing key) across restarts: "+emulator.SnapshotFile+" and the changes since in "+emulator.LogFile)
	fs.StringVar(&c.importFile, "import", "", "JSON state file to start from (replaces the state in --data)")
	fs.StringVar(&c.exportFile, "export-on-exit", "", "write the state as JSON to this file when the emulator stops")
	fs.IntVar(&c.seedUsers, "seed-users", 0, "create users seed-user-001 … seed-user-N at start (those that exist are kept)")
	logFormat := choiceFlag(fs, "log-format", "text", "request log format on stderr", "text", "json")
	c.server = addServerFlags(fs, "127.0.0.1:8787")
	if err := parseNoArgs(fs, args, " besides a subcommand ("+strings.Join(emulatorSubcommandNames(), ", ")+")"); err != nil {
		return nil, err
	}
	if err := c.server.check(); err != nil {
		return nil, err
	}
	var err error
	switch {
	case c.tokenTTL <= 0:
		return nil, usagef("--token-ttl must be positive, not %v", c.tokenTTL)
	case c.accessTTL < time.Second:
		return nil, usagef("--access-ttl must be at least 1s, not %v", c.accessTTL)
	case c.seedUsers < 0 || c.seedUsers > maxSeedUsers:
		return nil, usagef("--seed-users must be between 0 and %d, not %d", maxSeedUsers, c.seedUsers)
	}
	if c.apiKey, c.apiKeyGiven, err = apiKey.load(); err != nil {
		return nil, err
	}
	if c.log, err = httpops.NewLogger(e.stderr, logFormat.String(), "info"); err != nil {
		return nil, usageErr(err)
	}
	return c, nil
}

func runEmulator(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return runEmulatorClient(ctx, e, args[0], args[1:])
	}
	c, err := parseEmulatorFlags(e, args)
	if err != nil {
		return err
	}
	// Listen first: the control plane answers only the addresses it
	// listens on.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.server.addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer ln.Close()
	em, err := c.load(ln.Addr())
	if err != nil {
		return err
	}
	var handler http.Handler = em.Handler()
	var store *emulator.Dir
	if c.dataDir != "" {
		// The whole state once (the signing key, the seeded or imported
		// users), then each change as one line of the log.
		if store, err = emulator.AttachDir(c.dataDir, em); err != nil {
			return fmt.Errorf("emulator: --data: %w", err)
		}
		handler = store.FlushAfterEachRequest(handler, func(err error) {
			c.log.Error("cannot save the emulator state", "dir", store.Path(), "err", err)
		})
	}
	defer publishToken(c.log, ln, em)()
	env, reg := em.Environment()
	serveErr := c.server.serve(ctx, c.log, "emulator", ln, handler, httpops.DefaultShutdownTimeout, e.stdout,
		c.banner("http://"+ln.Addr().String(), em, store), "environment", env, "region", reg)
	// The state is written on the way out even when serving failed.
	errs := []error{serveErr}
	if store != nil {
		if err := store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: --data: %w", err))
		}
	}
	if c.exportFile != "" {
		if err := emulator.WriteStateFile(c.exportFile, em.Export()); err != nil {
			errs = append(errs, fmt.Errorf("emulator: --export-on-exit: %w", err))
		} else {
			c.log.Info("emulator state exported", "file", c.exportFile)
		}
	}
	return errors.Join(errs...)
}

// load builds the emulator serving addr: from --import, else from what
// --data keeps, if anything, else new; then seeds its users. Both files
// are read record by record: memory holds the state, not the file too.
func (c *emulatorConfig) load(addr net.Addr) (*emulator.Emulator, error) {
	log := c.log
	opts := []emulator.Option{
		emulator.WithClock(time.Now),
		emulator.WithControlHosts(httpops.ListenHosts(addr)...),
		emulator.WithTokenTTL(c.tokenTTL),
		emulator.WithAccessTTL(c.accessTTL),
		emulator.WithObserver(func(r emulator.RequestRecord) {
			log.Info("request", "method", r.Method, "path", r.Path, "status", r.Status, "latency", r.Latency, "route", r.Route)
		}),
		// The identity flags; a loaded state's own identity wins (and a
		// flag that contradicts it is refused below).
		emulator.WithAPIKey(c.apiKey), emulator.WithTeamID(c.teamID), emulator.WithEnvironment(c.environment.value, c.region.value),
	}
	var em *emulator.Emulator
	var err error
	source := c.importFile
	switch {
	case c.importFile != "":
		if err := checkStateFile(c.importFile); err != nil {
			return nil, err
		}
		if em, err = emulator.LoadStateFile(c.importFile, opts...); err != nil {
			return nil, fmt.Errorf("emulator: --import: %w", err)
		}
	case c.dataDir != "":
		source = filepath.Join(c.dataDir, emulator.SnapshotFile)
		if em, err = emulator.LoadDir(c.dataDir, opts...); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return nil, fmt.Errorf("emulator: --data: %w", err)
		}
	}
	if em != nil {
		if err := c.checkState(em, source); err != nil {
			return nil, err
		}
	} else {
		em = emulator.New(opts...)
	}
	if err := em.SeedUsers(c.seedUsers); err != nil {
		return nil, fmt.Errorf("emulator: --seed-users: %w", err)
	}
	return em, nil
}

// checkStateFile refuses an --import file that is empty or not JSON.
func checkStateFile(path string) error {
	k, err := sqlite.SniffFile(path)
	switch {
	case err != nil:
		return nil // the load says what is wrong
	case k == sqlite.FileEmpty:
		return usageErr(fmt.Errorf("%w: --import %s is empty, not an emulator state", errEmptyInput, path))
	case k != sqlite.FileJSONDoc && k != sqlite.FileJSONL:
		return usageErr(fmt.Errorf("%w: --import %s is %s, not an emulator state (the JSON that --export-on-exit writes)%s",
			errWrongKind, path, k, auditHint(k)))
	}
	return nil
}

// checkState refuses identity flags set on the command line that
// contradict the loaded state: the state's key, team and environment are
// what issued its tokens.
func (c *emulatorConfig) checkState(em *emulator.Emulator, source string) error {
	if c.apiKeyGiven && c.apiKey != em.APIKey() {
		// Not echoed: it is an API key.
		return usageErr(fmt.Errorf("%w: the API key (--api-key, --api-key-file or $%s) differs from the one kept in %s; drop it, or start from an empty --data directory",
			errStateConflict, envEmulatorAPIKey, source))
	}
	env, region := em.Environment()
	held := map[string]string{"team-id": em.TeamID(), "environment": string(env), "region": string(region)}
	var err error
	c.fs.Visit(func(f *flag.Flag) {
		if want, ok := held[f.Name]; ok && err == nil && f.Value.String() != want {
			err = usageErr(fmt.Errorf("%w: --%s differs from the one kept in %s; drop the flag, or start from an empty --data directory",
				errStateConflict, f.Name, source))
		}
	})
	return err
}

// banner is what the emulator prints once it accepts. The web UI's line
// comes last: scripts may read up to it.
func (c *emulatorConfig) banner(base string, em *emulator.Emulator, store *emulator.Dir) string {
	key := junction.MaskKey(em.APIKey())
	if c.showKey {
		// The API key is the emulator's own, made up for local use:
		// printing it on request is the point. Stdout only, never the log.
		key = em.APIKey()
	}
	env, reg := em.Environment()
	lines := fmt.Sprintf("API base URL:  %s\nAuth base URL: %s/auth\nAPI key:       %s\nTeam ID:       %s\nEnvironment:   %s %s\n",
		base, base, key, em.TeamID(), env, reg)
	if store != nil {
		lines += "State file:    " + filepath.Join(store.Path(), emulator.SnapshotFile) + "\n"
	}
	// The control token is the emulator's own, per process: its owner needs
	// it for every change (the UI's forms carry it; the subcommands read
	// $VITALSYNC_EMULATOR_TOKEN or --control-token-file).
	return lines + fmt.Sprintf("Control token: %s\nControl plane: %s%s\nWeb UI:        %s%sui\n",
		em.ControlToken(), base, emulator.ControlPrefix, base, emulator.ControlPrefix)
}

// publishToken leaves em's control token where the emulator subcommands of
// its user find it (emulatorclient.PublishToken), and returns the function
// that takes it back.
func publishToken(log *slog.Logger, ln net.Listener, em *emulator.Emulator) func() {
	unpublish, err := emulatorclient.PublishToken(ln.Addr().(*net.TCPAddr).Port, em.ControlToken())
	if err != nil {
		log.Warn("control token not left for the emulator subcommands (it is printed below)", "error", err.Error())
	}
	return unpublish
}
