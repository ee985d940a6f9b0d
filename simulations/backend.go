package simulations

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
)

// backend is the servers a fleet's installations talk to: one virtual
// clock, one emulator of the Junction team API and auth servers behind one
// rate limit, and one app backend (the issuer on one user map). A fleet run
// shares one backend among all its installations, so a release-day wave or
// a mass deletion is load on one server, as in production; a solo run (a
// trace's replay, a shrink) has a backend of its own.
type backend struct {
	clock *virtual.Clock
	emu   *emulator.Emulator
	users *memory.UserMap
	// net serves the hosts in the caller's goroutine.
	net  *syncTransport
	team *junction.Client
	// setupTeam reaches the team API past the rate limit, for the world's
	// own setup (an earlier API-key build's user).
	setupTeam *junction.Client
	limit     *rateLimit
	// current is the device whose step is running: the rate limit's 429s
	// are counted to it.
	current *device
}

// newBackend builds a backend on its own clock. The emulator's randomness
// (user IDs, tokens) comes from the stream of the seed and key; rate is the
// Junction hosts' capacity in requests per virtual second (0: unlimited).
func newBackend(seed uint64, key int, rate float64) (*backend, error) {
	clk := virtual.NewClock(epoch)
	b := &backend{clock: clk, users: memory.NewUserMap(clk.Now), net: &syncTransport{}}
	b.emu = emulator.New(emulator.WithSigningKey(signingKey()), emulator.WithClock(clk.Now),
		emulator.WithAfter(clk.After), emulator.WithRand(rand.NewChaCha8(chachaSeed(seed, key))))
	var junctionHosts http.Handler = b.emu
	if rate > 0 {
		b.limit = &rateLimit{rate: rate, burst: rate * rateBurstSeconds, now: clk.Now, b: b}
		junctionHosts = b.limit.wrap(b.emu)
	}
	apiURL := b.net.handle(apiHost, junctionHosts)
	b.net.handle(authHost, junctionHosts)
	b.team = junction.NewClient(apiURL, b.emu.APIKey(), junction.WithHTTPClient(&http.Client{Transport: b.net}),
		junction.WithClock(clk.Now))
	direct := &syncTransport{}
	direct.handle(apiHost, b.emu)
	b.setupTeam = junction.NewClient("http://"+apiHost, b.emu.APIKey(),
		junction.WithHTTPClient(&http.Client{Transport: direct}), junction.WithClock(clk.Now))
	h, err := issuer.New(issuer.Config{Team: b.team, Store: b.users, Auth: simAuth, Now: clk.Now})
	if err != nil {
		return nil, err
	}
	b.net.handle(issuerHost, h)
	return b, nil
}

// rateBurstSeconds is how many seconds of its rate the limit lets through
// at once after a quiet spell.
const rateBurstSeconds = 60

// FleetRate is a fleet backend's capacity, in requests per virtual second to
// the Junction hosts, for a fleet of installs installations: one request a
// second per thousand installations (at least one). An ordinary day's load
// is a tenth of it; a wave of launches within minutes is not.
func FleetRate(installs int) float64 { return max(1, float64(installs)/1000) }

// rateLimit is a token bucket in front of the Junction hosts: a request
// beyond it is answered 429 with the Retry-After until the next token, in
// the API's error shape.
type rateLimit struct {
	rate, burst float64
	tokens      float64
	at          time.Time
	now         func() time.Time
	b           *backend
	// refused counts the 429s it answered.
	refused int
}

func (l *rateLimit) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.take() {
			next.ServeHTTP(w, r)
			return
		}
		l.refused++
		if d := l.b.current; d != nil && d.net.counting {
			d.net.r429++
		}
		wait := int(math.Ceil((1 - l.tokens) / l.rate))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", strconv.Itoa(max(1, wait)))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"detail":"rate limit exceeded"}`))
	})
}

// take spends a token if there is one.
func (l *rateLimit) take() bool {
	now := l.now()
	if l.at.IsZero() {
		l.tokens, l.at = l.burst, now
	}
	if now.After(l.at) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.at).Seconds()*l.rate)
		l.at = now
	}
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}
