package vitalsdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/fsm"
)

// Options configures a Client.
type Options struct {
	// Profile is the SDK line to behave like (fsm.ParseProfile).
	Profile fsm.Profile
	// Installation is the device's key in Store; required.
	Installation string
	// Store keeps the device's SDK state; required. The Client does not
	// close it. adapters/store/sqlite and adapters/store/memory implement it.
	Store Store
	// APIBaseURL and AuthBaseURL override the Junction hosts. When empty,
	// junction.APIBaseURL and junction.AuthBaseURL of the session's
	// environment and region are used (for a sign-in, those of the token's
	// claims, as the SDKs do).
	APIBaseURL, AuthBaseURL string
	// LegacyAuthBaseURL overrides the legacy Firebase/GCIP hosts of the
	// profiles with LegacyTokenEndpoint, the way Firebase client libraries
	// address a local emulator: the requests go to
	// {LegacyAuthBaseURL}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken
	// and {LegacyAuthBaseURL}/securetoken.googleapis.com/v1/token. When
	// empty, the real hosts (reference §10.3).
	LegacyAuthBaseURL string
	// HTTPClient makes the requests; nil means the junction package's default.
	HTTPClient *http.Client
	// Timeout bounds each request: zero means junction.DefaultTimeout, a
	// negative value leaves it to the context and HTTPClient. (A refresh
	// outlives its callers' contexts, so only this bounds it.)
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per state change; nil discards. Secrets are
	// never logged.
	Logger *slog.Logger
	// KeychainLocked launches the SDK before the device's first unlock
	// (a pre-warmed or background launch; reference §10.6): on iOS ≤1.3
	// the status reads {} while a session exists, on iOS 1.4+ the status
	// is right but SignIn, Refresh and AccessToken fail with
	// ErrKeychainLocked, until Unlock. Ignored on Android (the profile's
	// LockedKeychain says).
	KeychainLocked bool
	// DeferCreate starts the process without the SDK client: on Android,
	// VitalClient.status is {} and currentUserId null until getOrCreate has
	// run in the process (reference §10.11), so Status and CurrentUserID
	// read signed out until Initialize (or any call that creates the
	// client: every method but the reads). Ignored on iOS, whose status
	// access configures automatically (§5.3). A launch task calls
	// Initialize before its first read.
	DeferCreate bool

	// crashAt is the Client's test hook (Client.crashAt), set before New so
	// that it also sees the launch's own writes.
	crashAt func(step string)
}

// config is an SDK configuration: the strategy with its environment and
// region, and the API key in API-key mode.
type config struct {
	strategy Strategy // StrategyAPIKey or StrategyJWT
	env      fsm.Environment
	region   fsm.Region
	apiKey   string
}

// Client is one installation of the Core SDK on a profile. It is safe for
// concurrent use: state changes are serialized (a SignIn's exchange holds up
// other changes, not reads), and Status, CurrentUserID and Environment never
// wait for IO. See the package documentation for its behaviour.
type Client struct {
	profile  fsm.Profile
	inst     string
	store    Store
	apiBase  string
	authBase string
	// legacyBase is Options.LegacyAuthBaseURL.
	legacyBase string
	hc         *http.Client
	timeout    time.Duration
	now        func() time.Time
	log        *slog.Logger

	// crashAt, when set (by tests), is called at named points before and
	// after every persist and network call of a state change.
	crashAt func(step string)

	// opMu serializes every state change and its persistence: sign-in,
	// sign-out, configure, set-user, identify and the commit of a refresh.
	// It may be held across a network call (a sign-in's exchange); mu never
	// is.
	opMu sync.Mutex

	// mu guards the fields below. Writers hold opMu as well, so code that
	// holds opMu may read them without mu.
	mu sync.Mutex
	// st is the persisted state, as last loaded or saved.
	st DeviceState
	// mem is the in-memory configuration of profiles whose configuration is
	// not persisted (iOS 1.4+); unused elsewhere.
	mem *config
	// flight is the refresh in progress, if any.
	flight *flight
	// locked: the keychain cannot be read yet (Options.KeychainLocked).
	locked bool
	// uncreated: Android's client does not exist yet in this process
	// (Options.DeferCreate).
	uncreated bool
	// crashed: the SDK crashed this process (ErrProcessCrashed).
	crashed bool
}

// crashedErr returns ErrProcessCrashed for op once the SDK has crashed the
// process, else nil.
func (c *Client) crashedErr(op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return opError(op, ErrProcessCrashed, nil)
	}
	return nil
}

// discardLogger is the logger of a client without one.
var discardLogger = slog.New(slog.DiscardHandler)

// New loads the installation's persisted state: it is a process launch. On
// iOS 1.4+ it runs the SDK's automatic configuration, which restores the
// configuration from the startup params or, when there are none, turns a
// stored token record (or a 1.3-era API-key sign-in) into startup params.
func New(ctx context.Context, o Options) (*Client, error) {
	switch {
	case o.Store == nil:
		return nil, opError("new", ErrInvalidArgument, errors.New("no store"))
	case o.Installation == "":
		return nil, opError("new", ErrInvalidArgument, errors.New("no installation"))
	case o.Profile.Name == "":
		return nil, opError("new", ErrInvalidArgument, errors.New("no profile"))
	case o.Profile.ConfigurePersists != o.Profile.APIKeyMigrationPersists,
		o.Profile.ConfigurePersists == o.Profile.SignInNeedsRelaunch:
		// The two known models: persisted configuration (Android, iOS ≤1.3)
		// and startup params with an in-memory configuration (iOS 1.4+).
		return nil, opError("new", ErrUnsupported, fmt.Errorf("profile %s: ConfigurePersists, APIKeyMigrationPersists and SignInNeedsRelaunch disagree", o.Profile.Name))
	}
	c := &Client{
		profile:    o.Profile,
		inst:       o.Installation,
		store:      o.Store,
		apiBase:    o.APIBaseURL,
		authBase:   o.AuthBaseURL,
		legacyBase: o.LegacyAuthBaseURL,
		hc:         o.HTTPClient,
		timeout:    o.Timeout,
		now:        o.Now,
		log:        o.Logger,
		crashAt:    o.crashAt,
		locked:     o.KeychainLocked && o.Profile.LockedKeychain != fsm.KeychainNotApplicable,
		// A wrapper's bridge creates the client before it reads the status
		// (Profile.StatusCreatesClient).
		uncreated: o.DeferCreate && o.Profile.Platform == fsm.Android && !o.Profile.StatusCreatesClient,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = discardLogger // drops every line: no attributes to attach
	} else {
		c.log = c.log.With("installation", c.inst, "profile", c.profile.Name)
	}
	st, ok, err := c.store.LoadDevice(ctx, c.inst)
	if err != nil {
		return nil, opError("launch", nil, err)
	}
	if !ok {
		st = DeviceState{Installation: c.inst}
	}
	c.st = st
	if r := st.Record; r != nil && c.profile.Platform == fsm.Android && !c.profile.RecordWithoutRegion &&
		r.Region == "" && st.Strategy == StrategyNone {
		// Android 4.2.1+ cannot backfill the region of a record without an
		// auth strategy (one left by a kill between 4.2.0's writes, §10.8),
		// and wipes the record (§10.9).
		next := st.Clone()
		next.Record = nil
		if err := c.commit(ctx, "launch", next, nil); err != nil {
			return nil, err
		}
		c.log.Info("launch: wiped a token record with no region and no strategy")
	}
	if c.startupParams() && (!c.locked || st.StartupStrategy != "") {
		// With the keychain locked, only the unprotected startup params can
		// be read; the migration of a keychain record waits for Unlock
		// (§5.3, §10.6).
		if err := c.automaticConfiguration(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// startupParams reports whether the profile keeps its sign-in in iOS 1.4+'s
// startup params, with the configuration in memory only (New checks that
// such a profile also has SignInNeedsRelaunch and not
// APIKeyMigrationPersists).
func (c *Client) startupParams() bool { return !c.profile.ConfigurePersists }

// automaticConfiguration is iOS 1.4+'s launch step (reference §5.3).
// Called from New only.
func (c *Client) automaticConfiguration(ctx context.Context) error {
	st := c.st
	switch {
	case st.StartupStrategy != "":
		c.mem = paramsConfig(st)
		return nil
	case st.Record != nil:
		// migrateSecretsIfNeeded: the JWT gist becomes startup params.
		next := st.Clone()
		next.Strategy, next.Environment, next.Region, next.APIKey = StrategyJWT, st.Record.Environment, st.Record.Region, ""
		next.StartupStrategy, next.StartupUserID = StrategyJWT, st.Record.UserID
		next.APIKeyUserID, next.ExternalUserID = "", ""
		return c.commit(ctx, "launch", next, paramsConfig(next))
	case st.Strategy == StrategyAPIKey && st.APIKeyUserID != "":
		// A 1.3-era restoration state plus API-key user becomes params.
		next := st.Clone()
		next.StartupStrategy, next.StartupUserID, next.APIKeyUserID = StrategyAPIKey, st.APIKeyUserID, ""
		return c.commit(ctx, "launch", next, paramsConfig(next))
	}
	return nil
}

// paramsConfig is the configuration the startup params of st carry.
func paramsConfig(st DeviceState) *config {
	if st.StartupStrategy == "" {
		return nil
	}
	return &config{strategy: st.StartupStrategy, env: st.Environment, region: st.Region, apiKey: st.APIKey}
}

// crash calls the test hook.
func (c *Client) crash(step string) {
	if c.crashAt != nil {
		c.crashAt(step)
	}
}

// commit persists next and then installs it, with the in-memory
// configuration mem, as the client's state. The caller holds opMu. The save
// ignores cancellation of ctx: a change the server has already made (a
// rotated refresh token) must be recorded.
func (c *Client) commit(ctx context.Context, op string, next DeviceState, mem *config) error {
	c.crash(op + ":before-persist")
	if err := c.store.SaveDevice(context.WithoutCancel(ctx), next); err != nil {
		return opError(op, nil, err)
	}
	c.crash(op + ":after-persist")
	c.mu.Lock()
	c.st, c.mem = next, mem
	c.mu.Unlock()
	return nil
}

// commitSignOut erases the installation's state, then clears the client's.
// The caller holds opMu.
func (c *Client) commitSignOut(ctx context.Context, op string) error {
	c.crash(op + ":before-delete")
	if err := c.store.DeleteDevice(context.WithoutCancel(ctx), c.inst); err != nil {
		return opError(op, nil, err)
	}
	c.crash(op + ":after-delete")
	c.mu.Lock()
	c.st, c.mem = DeviceState{Installation: c.inst}, nil
	c.mu.Unlock()
	c.log.Info("signed out")
	return nil
}

// ProtectedDataAvailable reports whether the keychain can be read, as
// UIApplication.isProtectedDataAvailable tells an app beforehand (reference
// §10.6). It is always true on Android.
func (c *Client) ProtectedDataAvailable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.locked
}

// Unlock is the device's first unlock (protectedDataDidBecomeAvailable):
// the keychain becomes readable, iOS ≤1.3's automatic configuration
// restores the session it could not read, iOS 1.4+ retries the migration of
// a keychain record into startup params (§5.3), and the calls that failed
// with ErrKeychainLocked succeed (§10.6). Its error is the store's.
func (c *Client) Unlock(ctx context.Context) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	was := c.locked
	c.locked = false
	c.mu.Unlock()
	if was && c.startupParams() && c.mem == nil {
		return c.automaticConfiguration(ctx)
	}
	return nil
}

// keychainLocked returns ErrKeychainLocked for op while the keychain
// cannot be read; iOS reads the token record from it for every sign-in,
// refresh and access token (§10.6). The caller holds mu.
func (c *Client) keychainLockedLocked(op string) error {
	if c.locked {
		return opError(op, ErrKeychainLocked, nil)
	}
	return nil
}

// Profile returns the client's profile.
func (c *Client) Profile() fsm.Profile { return c.profile }

// Installation returns the client's installation key.
func (c *Client) Installation() string { return c.inst }

// Status returns the SDK's status flags, derived per profile as the SDK
// does (reference §1.2). It does no IO.
func (c *Client) Status() fsm.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked()
}

func (c *Client) statusLocked() fsm.Status {
	if c.uncreated {
		return 0 // §10.11: no client in this process yet
	}
	if c.locked && c.profile.LockedKeychain == fsm.KeychainReadsSignedOut {
		return 0 // §10.6: no configuration could be restored
	}
	st := c.st
	if c.startupParams() {
		// iOS 1.4+: configured iff a configuration is in memory; signed in
		// iff startup params exist. The token record is not consulted, and
		// pendingReauthentication is never reported.
		if c.mem == nil {
			return 0
		}
		switch st.StartupStrategy {
		case StrategyAPIKey:
			return fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey
		case StrategyJWT:
			return fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken
		}
		return fsm.FlagConfigured
	}
	switch st.Strategy {
	case StrategyAPIKey:
		if st.APIKeyUserID == "" {
			return fsm.FlagConfigured
		}
		return fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey
	case StrategyJWT:
		if st.Record == nil {
			return fsm.FlagConfigured
		}
		s := fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken
		if st.Record.PendingReauth && c.profile.ReportsPendingReauth {
			s |= fsm.FlagPendingReauthentication
		}
		return s
	}
	return 0
}

// CurrentUserID returns the SDK's current user ID, or "" when there is none
// (reference §1.3). On profiles with UpperCaseUserID it is the startup
// params' UUID in upper case; in API-key mode on iOS it is the UUID in upper
// case too (uuidString). It does no IO.
//
// On profiles with LowerCaseUserID (Flutter) the wrapper lower-cases it
// before the app sees it (§10.10); userIDLocked, which the SDK's own
// comparisons use, does not.
func (c *Client) CurrentUserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uncreated {
		return "" // §10.11
	}
	if c.profile.LowerCaseUserID {
		return strings.ToLower(c.userIDLocked())
	}
	return c.userIDLocked()
}

// Initialize creates the SDK client in this process (Android's
// VitalClient.getOrCreate): until then, with Options.DeferCreate, the
// status reads {} and there is no current user (reference §10.11). It is
// idempotent and does no IO; every other method creates the client too.
// It is reconcile.Initializer's step, which the launch runner takes before
// its first read.
func (c *Client) Initialize(context.Context) error {
	c.create()
	return nil
}

func (c *Client) create() {
	c.mu.Lock()
	c.uncreated = false
	c.mu.Unlock()
}

func (c *Client) userIDLocked() string {
	if c.locked && c.profile.LockedKeychain == fsm.KeychainReadsSignedOut {
		return ""
	}
	st := c.st
	if c.startupParams() {
		if st.StartupStrategy == "" {
			return ""
		}
		if c.profile.UpperCaseUserID {
			return strings.ToUpper(st.StartupUserID)
		}
		return st.StartupUserID
	}
	switch st.Strategy {
	case StrategyAPIKey:
		if c.profile.Platform == fsm.IOS {
			return strings.ToUpper(st.APIKeyUserID)
		}
		return st.APIKeyUserID
	case StrategyJWT:
		if st.Record != nil {
			return st.Record.UserID
		}
	}
	return ""
}

// configLocked returns the effective configuration: the in-memory one on
// iOS 1.4+, the persisted strategy elsewhere.
func (c *Client) configLocked() (config, bool) {
	if c.startupParams() {
		if c.mem == nil {
			return config{}, false
		}
		return *c.mem, true
	}
	st := c.st
	if st.Strategy == "" {
		return config{}, false
	}
	return config{strategy: st.Strategy, env: st.Environment, region: st.Region, apiKey: st.APIKey}, true
}

// Environment returns the environment and region of the current
// configuration, and false when the SDK is not configured.
func (c *Client) Environment() (fsm.Environment, fsm.Region, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, ok := c.configLocked()
	return cfg.env, cfg.region, ok
}

// Configure configures API-key mode with apiKey in env and region. It
// persists the configuration where the profile does (ConfigurePersists);
// on iOS 1.4+ it lives in memory until SetUserID or IdentifyExternalUser
// writes startup params (reference §5.2).
func (c *Client) Configure(ctx context.Context, apiKey string, env fsm.Environment, region fsm.Region) error {
	c.create()
	if err := checkAPIKeyConfig(apiKey, env, region); err != nil {
		return opError("configure", ErrInvalidArgument, err)
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	cfg := &config{strategy: StrategyAPIKey, env: env, region: region, apiKey: apiKey}
	if c.startupParams() {
		c.mu.Lock()
		c.mem = cfg
		c.mu.Unlock()
		c.log.Info("configured in memory", "environment", env, "region", region)
		return nil
	}
	next := c.st.Clone()
	next.Strategy, next.Environment, next.Region, next.APIKey = cfg.strategy, env, region, apiKey
	if err := c.commit(ctx, "configure", next, nil); err != nil {
		return err
	}
	c.log.Info("configured", "environment", env, "region", region)
	return nil
}

func checkAPIKeyConfig(apiKey string, env fsm.Environment, region fsm.Region) error {
	if apiKey == "" {
		return errors.New("empty API key")
	}
	if _, ok := fsm.ParseEnvironment(string(env)); !ok {
		return fmt.Errorf("unknown environment %q", env)
	}
	if _, ok := fsm.ParseRegion(string(region)); !ok {
		return fmt.Errorf("unknown region %q", region)
	}
	return nil
}

// SetUserID signs in in API-key mode as userID (reference §5.2):
//   - Android: a silent no-op in token mode; otherwise the ID is stored as
//     passed, even when not configured (the status then stays {}).
//   - iOS ≤1.3: ErrNotConfigured when not configured; ignored in token mode.
//   - iOS 1.4+: ErrNotConfigured when not configured, ErrAlreadySignedIn in
//     token mode (the SDK's fatalError); otherwise it is
//     IdentifyExternalUser("legacySetUserId:<UUID>", APIKeyAuth{…}) with
//     the configured key, which persists the sign-in as startup params.
//
// On iOS the user ID must be a UUID.
func (c *Client) SetUserID(ctx context.Context, userID string) error {
	c.create()
	if userID == "" {
		return opError("set user", ErrInvalidArgument, errors.New("empty user ID"))
	}
	if c.profile.Platform == fsm.IOS && !junction.IsUUID(userID) {
		return opError("set user", ErrInvalidArgument, errors.New("user ID is not a UUID"))
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	cfg, configured := c.configLocked()
	if c.startupParams() {
		switch {
		case !configured:
			return opError("set user", ErrNotConfigured, nil)
		case cfg.strategy == StrategyJWT:
			return opError("set user", ErrAlreadySignedIn, errors.New("in sign-in token mode"))
		}
		ext := "legacySetUserId:" + strings.ToUpper(userID)
		return c.identifyLocked(ctx, ext, APIKeyAuth{Key: cfg.apiKey, UserID: userID, Environment: cfg.env, Region: cfg.region})
	}
	if !configured && c.profile.Platform == fsm.IOS {
		return opError("set user", ErrNotConfigured, nil)
	}
	if cfg.strategy == StrategyJWT {
		c.log.Info("set user ignored in sign-in token mode")
		return nil
	}
	next := c.st.Clone()
	next.APIKeyUserID = userID
	if err := c.commit(ctx, "set user", next, nil); err != nil {
		return err
	}
	c.log.Info("user set", "user_id", userID)
	return nil
}

// SignOut erases the installation's whole SDK state (every row of it) and
// the in-memory configuration: the status becomes {}. It is local only, as
// in the SDKs (reference §5.1).
func (c *Client) SignOut(ctx context.Context) error {
	if err := c.crashedErr("sign out"); err != nil {
		return err
	}
	c.create()
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return c.commitSignOut(ctx, "sign out")
}

// httpOptions are the junction client options of this client.
func (c *Client) httpOptions() []junction.Option {
	opts := []junction.Option{junction.WithHTTPClient(c.hc)} // nil: the default
	if c.timeout != 0 {
		opts = append(opts, junction.WithTimeout(c.timeout))
	}
	return opts
}

// authURL and apiURL return the hosts for env and region, or the overrides.
func (c *Client) authURL(env fsm.Environment, region fsm.Region) string {
	if c.authBase != "" {
		return c.authBase
	}
	return junction.AuthBaseURL(env, region)
}

// The legacy profiles default to the tryvital.io API hosts (§10.1).
func (c *Client) apiURL(env fsm.Environment, region fsm.Region) string {
	if c.apiBase != "" {
		return c.apiBase
	}
	if c.profile.LegacyTokenEndpoint {
		return junction.LegacyAPIBaseURL(env, region)
	}
	return junction.APIBaseURL(env, region)
}

// legacyAuth returns the client of the legacy Firebase/GCIP endpoints.
func (c *Client) legacyAuth() *junction.LegacyAuthClient {
	return junction.NewLegacyAuthClient(c.legacyBase, c.httpOptions()...)
}

// recordRegion is the region of rec's API host: the record's own, or on a
// record without one (Android 4.2.0, §10.3) the configuration's, from which
// Android 4.2.1+ backfills it. The caller holds mu or opMu.
func (c *Client) recordRegion(rec TokenRecord) fsm.Region {
	if rec.Region != "" {
		return rec.Region
	}
	return c.st.Region
}
