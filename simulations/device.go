package simulations

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The hosts of an installation's world, on its in-process transport.
const (
	apiHost    = "api.sim.test"
	authHost   = "auth.sim.test"
	issuerHost = "issuer.sim.test"
)

// requestTimeout is how long a client waits for a request that never
// answers (FaultTimeout): the virtual clock advances by it.
const requestTimeout = 30 * time.Second

// The simulations' signing keys: fixed RSA keys of 512 and 1024 bits (see
// the package documentation: RSA-2048 signing costs a millisecond a mint).
// A binary that allows keys under 1024 bits (GODEBUG rsa1024min=0, which
// this package's tests set; the vitalsync command does not) signs with the
// 512-bit one.
var (
	//go:embed signing-key-512.pem
	signingKey512PEM []byte
	//go:embed signing-key-1024.pem
	signingKey1024PEM []byte
	signingKey512     = sync.OnceValue(func() *rsa.PrivateKey { return parseKey(signingKey512PEM) })
	signingKey1024    = sync.OnceValue(func() *rsa.PrivateKey { return parseKey(signingKey1024PEM) })
)

// signingKey returns the key a new backend signs with: the 512-bit one
// while the process allows it (asked each time, with one signature, since
// the vitalsync command allows it only while it simulates), else the
// 1,024-bit one.
func signingKey() *rsa.PrivateKey {
	small := signingKey512()
	digest := sha256.Sum256([]byte("probe"))
	if _, err := rsa.SignPKCS1v15(nil, small, crypto.SHA256, digest[:]); err == nil {
		return small
	}
	return signingKey1024()
}

// SigningKeyBits returns the size of the key the world's emulators sign
// Sign-In Tokens with in this binary.
func SigningKeyBits() int { return signingKey().N.BitLen() }

func parseKey(data []byte) *rsa.PrivateKey {
	block, _ := pem.Decode(data)
	if block == nil {
		panic("simulations: signing key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		panic("simulations: signing key: " + err.Error())
	}
	return k.(*rsa.PrivateKey)
}

// AppState is the app's own session on a device: its signed-in user and,
// for the strategies that keep one, the Vital user its backend named.
type AppState struct {
	SignedIn bool
	User     string
	// VitalUser is the Vital user the app stored from its backend's answer
	// (the docs' recipe compares the SDK's current user ID with it).
	VitalUser string
}

// Session is the app's session as the reconcile runner reads it.
func (a AppState) Session() reconcile.AppSession {
	if !a.SignedIn {
		return reconcile.AppSession{}
	}
	return reconcile.AppSession{SignedIn: true, AppUserID: a.User, Environment: fsm.Sandbox, Region: fsm.US}
}

// truth is the world's judgement of a device at an instant.
type truth struct {
	// consistent: the app is signed out and the SDK holds no session, or
	// the SDK holds a working token session of the app user's current
	// Vital user.
	consistent bool
	// wrongUser: the SDK holds a session of a Vital user that is not the
	// app user's (or the app is signed out), so health data goes to
	// another user.
	wrongUser bool
	// gap: the app is signed in, no wrong user, not consistent: the app
	// user's data does not reach Vital (or an API-key session).
	gap bool
	// apiKey: the SDK is in API-key mode.
	apiKey bool
	// refresh is the SDK's refresh token ("" without a session): a change
	// across a launch is a session torn down and made anew.
	refresh string
	status  fsm.Status
}

// verdict names t for traces.
func (t truth) verdict() string {
	switch {
	case t.consistent:
		return "consistent"
	case t.wrongUser:
		return "wrong-user"
	case t.gap:
		return "data-gap"
	}
	return "api-key"
}

// device is one installation: its stores, its app's session and its
// network, in front of its backend (the fleet's, or its own in a solo run).
type device struct {
	locked  bool // the launch in progress started with the keychain locked
	inst    int
	back    *backend
	strat   Strategy
	setup   Setup
	profile fsm.Profile
	clock   *virtual.Clock
	emu     *emulator.Emulator
	users   *memory.UserMap
	net     *faultNet
	hc      *http.Client
	store   vitalsdk.Store
	journal reconcile.Journal
	db      *sqlite.DB
	app     AppState
	rnd     *rand.Rand
	// broken maps a Vital user (lower case) to the refresh token that was
	// revoked; the session works again once its refresh token changes.
	broken  map[string]string
	deleted map[string]bool
	last    truth
	// lastCrashed: the launch that left last crashed.
	lastCrashed bool
	lastAt      time.Time
	// wrongSeconds sums the device's wrong-user seconds.
	wrongSeconds float64
	// writes counts the writes to the store and the journal.
	writes func() uint64
}

// newDevice builds installation inst's world for strategy s, alone: on a
// backend of its own, without a rate limit (a solo run, a test).
func newDevice(ctx context.Context, seed uint64, inst int, setup Setup, s Strategy, dir string) (*device, error) {
	b, err := newBackend(seed, inst, 0)
	if err != nil {
		return nil, err
	}
	return newDeviceOn(ctx, b, seed, inst, setup, s, dir)
}

// newDeviceOn builds installation inst's device for strategy s on backend
// b, which it may share with the rest of its fleet.
func newDeviceOn(ctx context.Context, b *backend, seed uint64, inst int, setup Setup, s Strategy, dir string) (*device, error) {
	p, ok := fsm.ParseProfile(setup.Profile)
	if !ok {
		return nil, &NameError{Kind: "profile", Name: setup.Profile}
	}
	d := &device{inst: inst, strat: s, setup: setup, profile: p, back: b, clock: b.clock, emu: b.emu, users: b.users,
		rnd: stream(seed, "runtime", inst), broken: map[string]string{}, deleted: map[string]bool{}}
	d.net = &faultNet{next: b.net, clock: b.clock}
	d.hc = &http.Client{Transport: d.net}
	if setup.SQLite {
		db, err := sqlite.OpenDevice(ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.db", s.Name(), inst)), sqlite.WithClock(b.clock.Now))
		if err != nil {
			return nil, err
		}
		d.db = db
		d.store, d.journal, _ = installation.SQLite(db, d.key(), p)
		d.writes = db.WriteCount
	} else {
		ms, mj := memory.NewDeviceStore(), &memory.Journal{}
		d.store, d.journal = ms, mj
		d.writes = func() uint64 { return ms.WriteCount() + mj.WriteCount() }
	}
	if setup.APIKeyBuild {
		if err := d.apiKeyBuild(ctx); err != nil {
			d.close()
			return nil, err
		}
	}
	d.lastAt = b.clock.Now()
	d.last = d.judge(ctx)
	return d, nil
}

// key is the device's installation key.
func (d *device) key() string { return "install-" + itoa(d.inst) }

// simAuth is the issuer's Authenticator in simulations: the session is
// "sim-" and the app user ID. It is no secret: nothing here is real.
var simAuth = issuer.AuthenticatorFunc(func(r *http.Request) (string, error) {
	u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer sim-")
	if !ok || u == "" {
		return "", issuer.ErrInvalidSession
	}
	return u, nil
})

// apiKeyBuild puts the device where an app's API-key build left it: its
// backend created the first app user's Vital user (and mapped it), and the
// SDK is configured with the team's API key and signed in as that user.
func (d *device) apiKeyBuild(ctx context.Context) error {
	u := appUser(d.inst, 0)
	key, err := d.back.setupTeam.CreateUser(ctx, u)
	if err != nil {
		return err
	}
	if _, err := d.users.PutUser(ctx, u, key.UserID); err != nil {
		return err
	}
	sdk, err := d.openSDK(ctx, d.store)
	if err != nil {
		return err
	}
	if err := sdk.Configure(ctx, d.emu.APIKey(), fsm.Sandbox, fsm.US); err != nil {
		return err
	}
	if err := sdk.SetUserID(ctx, key.UserID); err != nil {
		return err
	}
	d.app = AppState{SignedIn: true, User: u}
	return nil
}

func (d *device) openSDK(ctx context.Context, store vitalsdk.Store) (*vitalsdk.Client, error) {
	return vitalsdk.New(ctx, vitalsdk.Options{Profile: d.profile, Installation: d.key(), Store: store,
		APIBaseURL: "http://" + apiHost, AuthBaseURL: "http://" + authHost + "/auth",
		LegacyAuthBaseURL: "http://" + apiHost, HTTPClient: d.hc,
		Timeout: -1, Now: d.clock.Now})
}

func (d *device) close() {
	if d.db != nil {
		d.db.Close()
		d.db = nil
	}
}

// judge reads the device as a relaunched SDK would see it and judges it
// against the backend's truth.
func (d *device) judge(ctx context.Context) truth {
	var t truth
	st, ok, err := d.store.LoadDevice(ctx, d.key())
	if err == nil && ok && st.Record != nil {
		t.refresh = st.Record.RefreshToken
	}
	sdk, err := d.openSDK(ctx, d.store)
	if err != nil {
		t.gap = d.app.SignedIn
		return t
	}
	t.status = sdk.Status()
	signedIn := t.status.Has(fsm.FlagSignedIn)
	t.apiKey = t.status.Has(fsm.FlagUseAPIKey)
	if !d.app.SignedIn {
		t.consistent, t.wrongUser = !signedIn, signedIn
		return t
	}
	if !signedIn {
		t.gap = true
		return t
	}
	cur := strings.ToLower(sdk.CurrentUserID())
	if owner := d.owner(ctx, cur); owner != d.app.User {
		t.wrongUser = true
		return t
	}
	m, ok, _ := d.users.LookupUser(ctx, d.app.User)
	t.consistent = ok && strings.EqualFold(m.VitalUserID, cur) && !d.deleted[cur] &&
		t.status.Has(fsm.FlagUseSignInToken) && !t.status.Has(fsm.FlagPendingReauthentication) &&
		(d.broken[cur] == "" || d.broken[cur] != t.refresh) &&
		(t.refresh == "" || d.emu.RefreshTokenUsable(t.refresh)) // a session whose refresh the server refuses is dead
	t.gap = !t.consistent && !(t.apiKey && !d.deleted[cur])
	return t
}

// owner returns the app user of this installation whose Vital user (now or
// before) is vital, or "".
func (d *device) owner(ctx context.Context, vital string) string {
	for k := 0; k < 3; k++ {
		u := appUser(d.inst, k)
		hist, _ := d.users.UserHistory(ctx, u)
		for _, m := range hist {
			if strings.EqualFold(m.VitalUserID, vital) {
				return u
			}
		}
	}
	return ""
}

// errLost is a request or response lost on the network.
var errLost = errors.New("simulations: connection lost")

// timeoutError is a request that never answered within the client's
// timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "simulations: request timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// faultNet is a device's network: it counts the launch's requests and
// applies its network faults, in front of the real handlers.
type faultNet struct {
	next  http.RoundTripper
	clock *virtual.Clock
	// armed are the launch's pending faults, in order.
	armed []NetFault
	// fired lists the faults that struck.
	fired []Fault
	// counting is set during a launch.
	counting           bool
	calls, mints, r429 int
	// proc is the launch's process: every request is one of its steps, and
	// none is sent once it has crashed.
	proc *proc
}

func (n *faultNet) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.counting && n.proc != nil {
		if err := n.proc.step(stepRequest); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	if n.counting {
		n.calls++
		if req.URL.Path == issuer.PathSignInToken {
			n.mints++
		}
	}
	if len(n.armed) == 0 || !n.counting {
		return n.next.RoundTrip(req)
	}
	if n.armed[0].Skip > 0 {
		n.armed[0].Skip--
		return n.next.RoundTrip(req)
	}
	f := n.armed[0]
	n.armed = n.armed[1:]
	n.fired = append(n.fired, f.Kind)
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	switch f.Kind {
	case FaultLostRequest:
		closeBody()
		return nil, errLost
	case FaultLostResponse:
		resp, err := n.next.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, errLost
	case FaultTimeout:
		closeBody()
		n.clock.Advance(requestTimeout)
		return nil, timeoutError{}
	case Fault5xx:
		closeBody()
		return synthetic(req, http.StatusServiceUnavailable, 0), nil
	case Fault429:
		closeBody()
		n.r429++
		return synthetic(req, http.StatusTooManyRequests, f.RetryAfter), nil
	}
	return nil, fmt.Errorf("simulations: unknown network fault %q", f.Kind)
}

// synthetic is an error answer in the emulator's shape.
func synthetic(req *http.Request, status, retryAfter int) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	body := `{"detail":"injected failure"}`
	if retryAfter > 0 {
		h.Set("Retry-After", itoa(retryAfter))
		body = `{"detail":"rate limit exceeded"}`
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1,
		ProtoMinor: 1, Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req}
}
