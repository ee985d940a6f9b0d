package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Defaults of the options.
const (
	// DefaultTokenTTL is how long a Sign-In Token stays exchangeable.
	DefaultTokenTTL = time.Hour
	// DefaultAccessTTL is how long an access token stays valid.
	DefaultAccessTTL = time.Hour
	// DeletionGracePeriod is how long a deleted user can be restored with
	// POST /v2/user/undo_delete.
	DeletionGracePeriod = 7 * 24 * time.Hour
	// KeyBits is the size of the RSA key generated to sign Sign-In Tokens.
	KeyBits = 2048
)

// Emulator is an http.Handler that emulates the Junction team API and auth
// server for one team. The zero value is ready to use, with the defaults of
// [New]. An Emulator is safe for concurrent use.
type Emulator struct {
	cfg      config
	initOnce sync.Once
	// controlToken guards the control plane's changes; set once by init.
	controlToken string

	keyOnce sync.Once // generates the key when none was given

	mu      sync.Mutex
	key     *rsa.PrivateKey // signs Sign-In Tokens; nil until needed
	keyErr  error
	apiKey  string
	teamID  string
	start   time.Time     // the default clock's reading before any Advance
	offset  time.Duration // sum of Advance calls
	users   map[string]*user
	active  map[string]*user   // client_user_id → the active user holding it
	deleted map[string][]*user // client_user_id → deleted users, oldest first
	order   []*user            // every user, in creation order
	access  map[string]*accessGrant
	refresh map[string]*refreshGrant
	faults  map[Route]*routeFaults
	counts  map[Route]int
	total   int
	minted  []mintRecord    // Sign-In Tokens minted, oldest first, at most maxMinted
	recent  []RequestRecord // the last requests to the API, oldest first, at most maxRecent

	journaling bool   // a Dir keeps the state: changes are recorded
	pending    []byte // changes recorded since the Dir's last flush, as log lines
}

// config is what the options set.
type config struct {
	apiKey      string
	teamID      string
	clock       func() time.Time
	tokenTTL    time.Duration
	accessTTL   time.Duration
	environment fsm.Environment
	region      fsm.Region
	key         *rsa.PrivateKey
	rand        io.Reader
	after       func(time.Duration) <-chan time.Time
	observe     func(RequestRecord)
	// legacyRefreshHonoured: /v1/token honours a legacy refresh token
	// (WithLegacyRefreshHonoured).
	legacyRefreshHonoured bool
	// controlToken and controlHosts guard the control plane
	// (WithControlToken, WithControlHosts).
	controlToken string
	controlHosts []string
}

// Option configures an Emulator built with [New].
type Option func(*config)

// WithAPIKey sets the team API key. The default is "sk_<region>_emulator_"
// (pk_ in production) followed by random hex.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithTeamID sets the team ID carried in users and Sign-In Tokens. The
// default is a random UUID.
func WithTeamID(id string) Option { return func(c *config) { c.teamID = id } }

// WithClock injects the clock. [Emulator.Advance] adds to its readings. The
// default is a manual clock that starts at the wall-clock time of first use
// (whole seconds) and moves only with Advance. The emulator calls now while
// holding its lock, so now must not call back into the emulator.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithTokenTTL sets how long Sign-In Tokens stay exchangeable
// (default [DefaultTokenTTL]). It panics if d is not positive.
func WithTokenTTL(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("emulator: WithTokenTTL(%v): not positive", d))
	}
	return func(c *config) { c.tokenTTL = d }
}

// WithAccessTTL sets how long access tokens stay valid
// (default [DefaultAccessTTL]). The token endpoint's expires_in is d in
// whole seconds. It panics if d is shorter than a second.
func WithAccessTTL(d time.Duration) Option {
	if d < time.Second {
		panic(fmt.Sprintf("emulator: WithAccessTTL(%v): shorter than a second", d))
	}
	return func(c *config) { c.accessTTL = d }
}

// WithEnvironment sets the environment and region the emulator pretends to
// be (default sandbox, us): they determine the Sign-In Tokens' issuer and the
// default API key prefix. It panics on an unknown environment or region.
func WithEnvironment(env fsm.Environment, region fsm.Region) Option {
	if _, ok := fsm.ParseEnvironment(string(env)); !ok {
		panic(fmt.Sprintf("emulator: WithEnvironment: unknown environment %q", env))
	}
	if _, ok := fsm.ParseRegion(string(region)); !ok {
		panic(fmt.Sprintf("emulator: WithEnvironment: unknown region %q", region))
	}
	return func(c *config) { c.environment, c.region = env, region }
}

// WithSigningKey sets the RSA key that signs Sign-In Tokens instead of
// generating one, so that tests can share one key across emulators.
func WithSigningKey(key *rsa.PrivateKey) Option { return func(c *config) { c.key = key } }

// WithRand sets the source of randomness for user IDs, tokens and the
// defaults of the API key and team ID (default crypto/rand), so that a seeded
// simulation sees the same IDs on every run. It is read under the
// emulator's lock.
func WithRand(r io.Reader) Option { return func(c *config) { c.rand = r } }

// WithAfter sets what [Emulator.DelayNext] waits on: after(d) must return a
// channel that receives once d has passed. The default is time.After's real
// timer; a test on a virtual clock passes that clock's After so a delay ends
// when the test advances the clock. A nil after keeps the default.
func WithAfter(after func(d time.Duration) <-chan time.Time) Option {
	return func(c *config) { c.after = after }
}

// New returns an Emulator configured by opts.
func New(opts ...Option) *Emulator {
	e := &Emulator{}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.init()
	return e
}

// init fills in the defaults; it runs once, on first use.
func (e *Emulator) init() {
	e.initOnce.Do(func() {
		c := &e.cfg
		if c.rand == nil {
			c.rand = rand.Reader
		}
		if c.environment == "" {
			c.environment = fsm.Sandbox
		}
		if c.region == "" {
			c.region = fsm.US
		}
		if c.tokenTTL == 0 {
			c.tokenTTL = DefaultTokenTTL
		}
		if c.accessTTL == 0 {
			c.accessTTL = DefaultAccessTTL
		}
		e.apiKey = c.apiKey
		if e.apiKey == "" {
			prefix := "sk_"
			if c.environment == fsm.Production {
				prefix = "pk_"
			}
			e.apiKey = prefix + string(c.region) + "_emulator_" + hex.EncodeToString(e.randomBytes(16))
		}
		e.controlToken = c.controlToken
		if e.controlToken == "" {
			e.controlToken = newControlToken()
		}
		e.teamID = c.teamID
		if e.teamID == "" {
			e.teamID = e.newUUID()
		}
		e.key = c.key
		e.start = time.Now().UTC().Truncate(time.Second)
		e.users = make(map[string]*user)
		e.active = make(map[string]*user)
		e.deleted = make(map[string][]*user)
		e.access = make(map[string]*accessGrant)
		e.refresh = make(map[string]*refreshGrant)
		e.faults = make(map[Route]*routeFaults)
		e.counts = make(map[Route]int)
	})
}

// APIKey returns the team API key that the team API accepts.
func (e *Emulator) APIKey() string {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.apiKey
}

// TeamID returns the emulated team's ID.
func (e *Emulator) TeamID() string {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.teamID
}

// Environment returns the environment and region the emulator pretends to be.
func (e *Emulator) Environment() (fsm.Environment, fsm.Region) {
	e.init()
	return e.cfg.environment, e.cfg.region
}

// PublicKey returns the public half of the key that signs Sign-In Tokens,
// generating the key if need be. It panics if key generation fails, which
// only happens when the system's randomness is broken.
func (e *Emulator) PublicKey() *rsa.PublicKey {
	key, err := e.signingKey()
	if err != nil {
		panic("emulator: " + err.Error())
	}
	return &key.PublicKey
}

// signingKey returns the signing key, generating it on first use (outside
// the lock: generation takes a while).
func (e *Emulator) signingKey() (*rsa.PrivateKey, error) {
	e.init()
	e.mu.Lock()
	key := e.key
	e.mu.Unlock()
	if key != nil {
		return key, nil
	}
	e.keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, KeyBits)
		e.mu.Lock()
		defer e.mu.Unlock()
		switch {
		case err != nil:
			e.keyErr = fmt.Errorf("generate signing key: %w", err)
		case e.key == nil:
			e.key = k
		}
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.key, e.keyErr
}

// Advance moves the emulator's clock forward by d: with the default clock
// time stands still otherwise; with [WithClock], d is added to the injected
// clock's readings. It panics if d is negative.
func (e *Emulator) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("emulator: Advance(%v): negative", d))
	}
	e.init()
	e.mu.Lock()
	e.offset += d
	e.logClock()
	e.mu.Unlock()
}

// ClockOffset returns the sum of every [Emulator.Advance] so far.
func (e *Emulator) ClockOffset() time.Duration {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.offset
}

// Now returns the emulator's current time.
func (e *Emulator) Now() time.Time {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

// now reads the clock. The caller holds e.mu.
func (e *Emulator) now() time.Time {
	base := e.start
	if e.cfg.clock != nil {
		base = e.cfg.clock()
	}
	return base.Add(e.offset).UTC()
}

// randomBytes reads n bytes from the configured source. The caller holds
// e.mu or is init.
func (e *Emulator) randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(e.cfg.rand, b); err != nil {
		panic("emulator: read randomness: " + err.Error())
	}
	return b
}

// newUUID returns a random (version 4) UUID in lower case. The caller holds
// e.mu or is init.
func (e *Emulator) newUUID() string {
	b := e.randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newToken returns a random opaque token with the given prefix. The caller
// holds e.mu.
func (e *Emulator) newToken(prefix string) string {
	return prefix + hex.EncodeToString(e.randomBytes(24))
}

// ServeHTTP serves the team API and the auth server's token endpoint. It
// records the request (see [Emulator.RecentRequests] and [WithObserver]).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.init()
	m := matchRoute(r.Method, r.URL.EscapedPath())
	name := m.route.Name()
	var notServed string
	if vr, ok := matchVitalRoute(r.Method, r.URL.EscapedPath()); ok && (m.route == "" || moreSpecific(vr.segs, routeSegs(m.route))) {
		// A route of the official client that the emulator does not serve.
		m, name = match{}, RouteNameNotEmulated
		notServed = vr.method + " " + vr.pattern + " (" + vr.client + " in the official Node client), a Vital API route"
	} else if m.route == "" && m.allow == "" {
		if what, ok := notEmulated(r.URL.EscapedPath()); ok {
			name, notServed = RouteNameNotEmulated, "a Vital API path ("+what+")"
		}
	}
	sw, done := e.track(w, r, name, true)
	defer done()
	w = sw
	f := e.admit(m.route)
	switch {
	case m.allow != "" && notServed == "":
		w.Header().Set("Allow", m.allow)
		writeDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	case notServed != "":
		writeDetail(w, http.StatusNotImplemented, "not emulated: "+r.Method+" "+r.URL.EscapedPath()+
			" is "+notServed+" that this emulator does not serve; it serves user management (/v2/user) and the token endpoint (/v1/token)")
		return
	case m.route == "":
		writeDetail(w, http.StatusNotFound, "Not Found")
		return
	}
	if !f.apply(w, r, e.cfg.after) {
		return
	}
	if f.outcome.kind == outcomeLoseResponse {
		// Served in full, then the answer is lost (LoseResponseNext).
		e.serve(&discardWriter{header: http.Header{}}, r, m)
		dropConnection(w)
		return
	}
	e.serve(w, r, m)
}

// serve serves a routed request.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, m match) {
	switch m.route {
	case RouteCreateUser:
		e.serveCreateUser(w, r)
	case RouteListUsers:
		e.serveListUsers(w, r)
	case RouteGetUser:
		e.serveGetUser(w, r, m.param)
	case RouteResolveUser:
		e.serveResolveUser(w, r, m.param)
	case RouteDeleteUser:
		e.serveDeleteUser(w, r, m.param)
	case RoutePatchUser:
		e.servePatchUser(w, r, m.param)
	case RouteUndoDelete:
		e.serveUndoDelete(w, r)
	case RouteSignInToken:
		e.serveSignInToken(w, r, m.param)
	case RouteToken:
		e.serveToken(w, r)
	case RouteLegacySignIn:
		e.serveLegacySignIn(w, r)
	case RouteLegacyRefresh:
		e.serveLegacyRefresh(w, r)
	default:
		// A route in the table without a handler is a bug here.
		panic("emulator: no handler for route " + string(m.route))
	}
}
