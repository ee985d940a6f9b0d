package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The hosts the demo's stack serves on its in-process transport: the
// emulator at emulatortest's two Junction hosts and the issuer beside it,
// as the issuer's tests mount it. Reserved .test names: nothing leaves the
// process but a --legacy-auth-url's requests.
const (
	demoAPIHost    = "api.emulator.test"
	demoAuthHost   = "auth.emulator.test"
	demoIssuerHost = "issuer.test"
)

// stack is the demo's world, built as emulatortest.NewStack builds the
// tests' (package virtual's clock and in-process transport, the emulator on
// both Junction hosts) with the issuer on a SQLite user map mounted beside
// it. The clock starts at the real time and moves only when the demo moves
// it, so token expiry shows without waiting an hour.
type stack struct {
	clock                      *virtual.Clock
	net                        *virtual.Transport
	emu                        *emulator.Emulator
	team                       *junction.Client
	issuer                     http.Handler
	issuerDB                   *sqlite.DB
	apiURL, authURL, issuerURL string
	secret                     []byte
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// startStack builds the stack, its issuer's user map in dir.
func startStack(ctx context.Context, dir string, log *slog.Logger) (*stack, error) {
	clk := virtual.NewClock(time.Now())
	s := &stack{clock: clk, net: &virtual.Transport{}, secret: []byte(randomHex(32))}
	s.emu = emulator.New(emulator.WithAPIKey("sk_us_demo_"+randomHex(12)), emulator.WithClock(clk.Now), emulator.WithAfter(clk.After))
	s.apiURL = s.net.Handle(demoAPIHost, s.emu)
	s.authURL = s.net.Handle(demoAuthHost, s.emu) + "/auth"
	s.team = junction.NewClient(s.apiURL, s.emu.APIKey(), junction.WithHTTPClient(s.net.Client()), junction.WithClock(clk.Now))
	var err error
	if s.issuerDB, err = sqlite.OpenIssuer(ctx, filepath.Join(dir, "issuer.db"), sqlite.WithClock(clk.Now)); err != nil {
		return nil, err
	}
	auth, err := issuer.NewHMACAuthenticator(s.secret, clk.Now)
	if err == nil {
		s.issuer, err = issuer.New(issuer.Config{Team: s.team, Store: s.issuerDB, Auth: auth, Logger: log, Now: clk.Now})
	}
	if err != nil {
		s.issuerDB.Close()
		return nil, err
	}
	s.issuerURL = s.net.Handle(demoIssuerHost, s.issuer)
	return s, nil
}

func (s *stack) close() { s.issuerDB.Close() }

func (s *stack) session(appUser string) (string, error) {
	return issuer.NewSession(s.secret, appUser, 24*time.Hour, s.clock.Now())
}

// RoundTrip carries a device's requests: the stack's hosts in process, any
// other (a --legacy-auth-url) over the network.
func (s *stack) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.URL.Host {
	case demoAPIHost, demoAuthHost, demoIssuerHost:
		return s.net.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// config is an installation of profile on the stack.
func (s *stack) config(p fsm.Profile, inst, legacyURL string) installation.Config {
	return installation.Config{Profile: p, Installation: inst, IssuerURL: s.issuerURL, APIURL: s.apiURL, AuthURL: s.authURL,
		LegacyAuthURL: legacyURL, Now: s.clock.Now, Transport: s}
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "[--profile P] [--dir DIR] [--format table|json] [--legacy-auth-url U]")
	profile := profileFlag(fs, "android-5.0", "SDK profile of the demo device")
	dir := fs.String("dir", "", "keep the databases in DIR (default: a temporary folder, removed afterwards)")
	format := choiceFlag(fs, "format", "table", "output format (json: one launch report per line)", "table", "json")
	verbose := fs.Bool("v", false, "log each action on stderr")
	var legacyURL urlFlag
	fs.Var(&legacyURL, "legacy-auth-url", "base URL of the legacy Firebase endpoints on legacy profiles (default: the demo's emulator)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("demo takes no arguments")
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "vitalsync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	} else if kept := demoDatabases(*dir); len(kept) > 0 {
		// The story is a first run's: on databases kept from a run before,
		// what happens differs from what it narrates.
		fmt.Fprintf(e.stderr, "vitalsync demo: warning: %s already holds %s from an earlier run; this run starts from their state, "+
			"so what happens is not the story a first run tells. Use a new --dir, or remove them, for the story.\n",
			display(*dir), strings.Join(kept, " and "))
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = e.log
	}
	d := &demo{ctx: ctx, out: e.stdout, json: format.String() == "json", profile: profile.profile, legacyAuthURL: legacyURL.url, log: log}
	return d.run(*dir)
}

type demo struct {
	ctx     context.Context
	out     io.Writer
	json    bool
	profile fsm.Profile
	// legacyAuthURL is --legacy-auth-url ("" means the emulator's).
	legacyAuthURL string
	log           *slog.Logger
	s             *stack
	device        *sqlite.DB
	step          int
}

// demoDatabases lists the demo's databases that dir already holds.
func demoDatabases(dir string) []string {
	var kept []string
	for _, name := range []string{"issuer.db", "device.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			kept = append(kept, name)
		}
	}
	return kept
}

func (d *demo) say(format string, args ...any) {
	if !d.json {
		fmt.Fprintf(d.out, format+"\n", args...)
	}
}

// launch runs one app launch on an installation and narrates it.
func (d *demo) launch(title, inst, appUser string) (launchReport, error) {
	return d.launchAs(title, inst, appUser, "")
}

// launchAs is launch for an app that knows its user's Vital user (vital,
// "" when it does not).
func (d *demo) launchAs(title, inst, appUser, vital string) (launchReport, error) {
	d.step++
	cfg := d.s.config(d.profile, inst, d.legacyURL())
	cfg.Logger = d.log
	cfg.Store, cfg.Journal, cfg.Writes = installation.SQLite(d.device, inst, d.profile)
	cfg.ReportLog = d.device
	if appUser != "" {
		sess, err := d.s.session(appUser)
		if err != nil {
			return launchReport{}, err
		}
		cfg.Session = sess
		app := reconcile.AppSession{SignedIn: true, AppUserID: appUser, VitalUserID: vital, Environment: fsm.Sandbox, Region: fsm.US}
		cfg.App = func() reconcile.AppSession { return app }
	}
	rep, err := launchOnce(d.ctx, cfg)
	if d.json {
		if err := writeJSONLine(d.out, map[string]any{"step": d.step, "title": title, "installation": inst, "launch": rep}); err != nil {
			return rep, err
		}
	} else {
		fmt.Fprintf(d.out, "\n%d. %s\n", d.step, title)
		if err := printLaunch(d.out, rep); err != nil {
			return rep, err
		}
	}
	return rep, err
}

// sdk opens the device's SDK core outside a launch, as the app's own code
// would (a data sync, a refresh).
func (d *demo) sdk(installation string) (*vitalsdk.Client, error) {
	return vitalsdk.New(d.ctx, vitalsdk.Options{Profile: d.profile, Installation: installation, Store: d.device,
		APIBaseURL: d.s.apiURL, AuthBaseURL: d.s.authURL, LegacyAuthBaseURL: d.legacyURL(), Now: d.s.clock.Now, Logger: d.log,
		HTTPClient: &http.Client{Transport: d.s}})
}

// legacyURL is the legacy Firebase base URL of the demo device: the
// emulator, which serves the legacy routes under its root (reference
// §10.3), unless --legacy-auth-url says otherwise; "" on current profiles.
func (d *demo) legacyURL() string {
	switch {
	case !d.profile.LegacyTokenEndpoint:
		return ""
	case d.legacyAuthURL != "":
		return d.legacyAuthURL
	}
	return d.s.apiURL
}

func (d *demo) run(dir string) error {
	s, err := startStack(d.ctx, dir, d.log)
	if err != nil {
		return err
	}
	defer s.close()
	d.s = s
	if d.device, err = sqlite.OpenDevice(d.ctx, filepath.Join(dir, "device.db"), sqlite.WithClock(s.clock.Now)); err != nil {
		return err
	}
	defer d.device.Close()
	d.say("vitalsync demo: profile %s; emulator and issuer in process (%s, %s); databases in %s", d.profile.Name, s.apiURL, s.issuerURL, display(dir))
	if d.profile.LegacyTokenEndpoint {
		d.say("(this profile signs in and refreshes through the legacy Firebase endpoints under %s)", display(d.legacyURL()))
	}

	const phone = "phone"
	if _, err := d.launch("alice signs in to the app: the first launch signs the SDK in", phone, "alice"); err != nil {
		return err
	}
	if _, err := d.launch("the app relaunches: SDK and app agree, so nothing happens", phone, "alice"); err != nil {
		return err
	}
	if _, err := d.launch("alice signs out and bob signs in: the launch switches the SDK to bob", phone, "bob"); err != nil {
		return err
	}

	if err := d.deleteBob(phone); err != nil {
		return err
	}
	if err := d.upgradeCarol(); err != nil {
		return err
	}
	d.say("\ndone: %d launches", d.step)
	return nil
}

// deleteBob has the backend delete bob's Vital user; the SDK notices at
// its next refresh, and bob's next launch signs in as his new one.
func (d *demo) deleteBob(phone string) error {
	j, err := d.device.Journal(phone, d.profile.Name).Load(d.ctx)
	if err != nil {
		return err
	}
	bobV := j.VitalUserID
	if err := d.s.team.DeleteUser(d.ctx, bobV); err != nil {
		return fmt.Errorf("demo: delete bob's Vital user: %w", err)
	}
	d.s.clock.Advance(emulator.DefaultAccessTTL + time.Minute)
	sdk, err := d.sdk(phone)
	if err != nil {
		return err
	}
	_, refreshErr := sdk.AccessToken(d.ctx)
	title := "bob's next launch: the issuer maps bob to a new Vital user and the SDK signs in as it"
	if d.profile.DetectsDeletion {
		if !errors.Is(refreshErr, vitalsdk.ErrInvalidUser) {
			return fmt.Errorf("demo: the refresh after deletion returned %v, want the user-deleted error", refreshErr)
		}
		d.say("\n   the backend deletes bob's Vital user; an hour later the SDK's token refresh answers invalid_token:")
		d.say("   the SDK now reports %s with no user (%s)", sdk.Status(), deletionNote(d.profile))
	} else {
		// Android 4.2.1–4.2.2 cannot decode the token endpoint's error body
		// (reference §10.1): the deletion is never detected.
		if !errors.Is(refreshErr, vitalsdk.ErrUndecodableTokenError) {
			return fmt.Errorf("demo: the refresh after deletion returned %v, want the undecodable-error-body error", refreshErr)
		}
		d.say("\n   the backend deletes bob's Vital user; an hour later the SDK's token refresh answers")
		d.say("   invalid_token, which this profile cannot decode: the SDK still reports %s", sdk.Status())
		d.say("   as bob's deleted user and every refresh fails the same way (a day passes)")
		d.s.clock.Advance(24 * time.Hour)
		title = "bob's next launch, a day later: the SDK still shows bob's deleted Vital user, so the launch asks the issuer again and signs in as bob's new one"
	}
	_, err = d.launch(title, phone, "bob")
	return err
}

// upgradeCarol launches an installation upgraded from a build that used
// the team API key, then signs carol out.
func (d *demo) upgradeCarol() error {
	const legacy = "legacy-phone"
	carol, err := d.s.team.CreateUser(d.ctx, "carol")
	if err != nil {
		return err
	}
	old, err := d.sdk(legacy)
	if err != nil {
		return err
	}
	if err := old.Configure(d.ctx, d.s.emu.APIKey(), fsm.Sandbox, fsm.US); err != nil {
		return err
	}
	if err := old.SetUserID(d.ctx, carol.UserID); err != nil {
		return err
	}
	d.say("\n   carol's phone ran a build that signed the SDK in with the team API key: status %s", old.Status())
	// The API-key build's backend created carol's Vital user, so the app
	// knows it: the session is known to be hers and migrates in place.
	if _, err := d.launchAs("carol's first launch of the new build: migrate the API-key session in place", legacy, "carol", carol.UserID); err != nil {
		return err
	}
	_, err = d.launch("carol signs out of the app: the launch signs the SDK out", legacy, "")
	return err
}

func deletionNote(p fsm.Profile) string {
	if p.AutoSignOutOnDeletion {
		return "this profile signs out on deletion"
	}
	return "this profile keeps its configuration after deletion, so only the last observed state tells"
}

func writeJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
