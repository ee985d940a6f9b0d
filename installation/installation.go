// Package installation composes one app installation's launch task from the
// adapters: the Go SDK core (adapters/vitalsdk) on the device's store, the
// issuer's client (issuer) as the token source, the journal, and
// the reconcile runner, all behind one HTTP transport that counts the
// requests a launch sends. The CLI's launch, device and demo commands, the
// real-stack property tests and the simulations build installations here
// and nowhere else.
//
// A caller's duties, in order:
//
//  1. Fill a Config: the profile, the device's SDK store and the journal
//     (SQLite's through SQLite, or adapters/store/memory's) and the installation
//     key, the issuer's URL and the app user's session, the app's session
//     as a function, and the clock and randomness (injected, so that tests
//     and simulations replay).
//  2. Call Launch once per process start. It opens the SDK core on the
//     stored state (a relaunch), runs the reconcile as an app would, in the
//     background, waits for it, and returns a Summary: the runner's Outcome,
//     the network calls the launch made and the writes it cost. A consistent
//     launch costs no call and no write.
//  3. Between launches, hand the SDK errors the app meets to
//     RecordSDKError, so the next launch plans from them.
//
// Reports. After the reconcile has finished, Run sends the installation's
// report to the issuer (POST /v1/installation-report): after a launch that
// applied an action, and after a quiet one only when the last report was
// sent longer than ReportInterval ago (0: quiet launches never report).
// When it was last sent is kept in the device database (ReportLog, one row
// per installation, beside the SDK state; not in the journal, which is
// reconcile's): a quiet launch inside the interval reads that row and
// sends and writes nothing. A report goes through its own counting
// transport (Summary.ReportCalls, apart from NetworkCalls), is bounded by
// ReportTimeout, and its failure is logged, never returned: a report never
// fails a launch. No report is sent while the app is signed out (it has no
// session with the issuer) or without an SDKVersion.
package installation

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The concrete adapters implement the interfaces the runner declares.
var (
	_ reconcile.SDK           = (*vitalsdk.Client)(nil)
	_ reconcile.Identifier    = (*vitalsdk.Client)(nil)
	_ reconcile.TokenSource   = (*issuer.Client)(nil)
	_ reconcile.Journal       = (*sqlite.Journal)(nil)
	_ reconcile.Initializer   = (*vitalsdk.Client)(nil)
	_ reconcile.ProtectedData = (*vitalsdk.Client)(nil)
	_ vitalsdk.Store          = (*sqlite.DB)(nil)
	_ issuer.UserStore        = (*sqlite.DB)(nil)
)

// Config is one installation.
type Config struct {
	// Profile is the SDK line the installation runs; required.
	Profile fsm.Profile
	// Store holds the device's SDK state and Journal the runner's entry for
	// this installation; both required. SQLite fills both from one
	// database; adapters/store/memory has in-memory ones (and crashing wrappers).
	Store   vitalsdk.Store
	Journal reconcile.Journal
	// Writes, when set, counts the write transactions committed to Store
	// and Journal so far; a Summary's DBWrites is its difference across a
	// launch (0 without it).
	Writes func() uint64
	// Installation is the device's key in Store; required.
	Installation string
	// IssuerURL is the base URL of the sign-in token issuer, and Session the
	// app user's session with it (empty while the app is signed out).
	IssuerURL, Session string
	// APIURL and AuthURL override the Junction hosts (an emulator's), and
	// LegacyAuthURL the legacy Firebase hosts of the legacy profiles
	// (vitalsdk.Options.LegacyAuthBaseURL).
	APIURL, AuthURL, LegacyAuthURL string
	// App returns the app's session; nil means signed out.
	App func() reconcile.AppSession
	// AllowAPIKey keeps a matching API-key session (sandbox evaluation).
	AllowAPIKey bool
	// Transport carries every request; nil means http.DefaultTransport. The
	// simulations pass an in-process one.
	Transport http.RoundTripper
	// Timeout bounds each request of the SDK core (vitalsdk.Options.Timeout).
	Timeout time.Duration
	// KeychainLocked starts the process before the device's first unlock
	// (vitalsdk.Options.KeychainLocked): the runner then decides nothing.
	KeychainLocked bool
	// Now is the clock (nil: time.Now); Rand draws backoff jitter in [0,1)
	// (nil: math/rand/v2).
	Now  func() time.Time
	Rand func() float64
	// Backoff defaults to reconcile.DefaultBackoff.
	Backoff reconcile.Backoff
	// Logger gets the SDK core's and the runner's lines; nil discards.
	Logger *slog.Logger
	// SDKVersion is the SDK release the installation runs ("1.8.1"), sent
	// in its reports; "" sends none.
	SDKVersion string
	// ReportInterval is how old the last report may grow before a quiet
	// launch sends one (DefaultReportInterval is the CLI's default); 0:
	// only launches that acted report.
	ReportInterval time.Duration
	// ReportTimeout bounds a report's request; 0: DefaultReportTimeout.
	ReportTimeout time.Duration
	// ReportLog remembers when the last report was sent; without one, only
	// launches that acted report.
	ReportLog ReportLog
	// Identity, when set, gives the installation the ID it reports under,
	// its key and its report sequence (adapters/store/sqlite keeps them in the
	// device database); without one, reports go under Installation with
	// neither key nor sequence.
	Identity Identity
	// ReportID is the installation ID to create Identity's identity with on
	// first use ("": a random one); an existing identity is kept.
	ReportID string
}

// Identity is an installation's identity towards the issuer
// (docs/reference/report-schema.md): InstallationIdentity returns the ID
// it reports under and its key, creating them on first use (with id, or a
// random ID when id is ""); NextReportSequence increments and returns its
// report sequence; RenewInstallationIdentity replaces the ID and key with
// new random ones and restarts the sequence.
type Identity interface {
	InstallationIdentity(ctx context.Context, installation, id string) (string, []byte, error)
	NextReportSequence(ctx context.Context, installation string) (uint64, error)
	RenewInstallationIdentity(ctx context.Context, installation string) (string, []byte, error)
}

var _ Identity = (*sqlite.DB)(nil)

// DefaultReportInterval is the reporting interval of quiet launches the
// CLI uses unless told otherwise.
const DefaultReportInterval = 24 * time.Hour

// DefaultReportTimeout bounds a report's request.
const DefaultReportTimeout = 5 * time.Second

// ReportLog remembers when each installation last sent its report;
// adapters/store/sqlite implements it in the device database. LastReportSent
// returns the zero time when it never did.
type ReportLog interface {
	LastReportSent(ctx context.Context, installation string) (time.Time, error)
	SetReportSent(ctx context.Context, installation string, t time.Time) error
}

var _ ReportLog = (*sqlite.DB)(nil)

// Summary is what one launch saw, planned, did and cost. (A report, in
// this package as across the module, is only the installation report sent
// to the backend.)
type Summary struct {
	Outcome reconcile.Outcome
	// NetworkCalls counts the HTTP requests the launch sent (the SDK core's
	// and the token source's).
	NetworkCalls int64
	// DBWrites counts the write transactions the launch committed.
	DBWrites uint64
	// ReportCalls counts the report requests sent after the reconcile (0
	// or 1); they are not in NetworkCalls. ReportErr is a report's failure,
	// which does not fail the launch.
	ReportCalls int64
	ReportErr   error
}

// SQLite returns the device store, the journal of installation on profile,
// and the write counter of one SQLite database, for Config's Store, Journal
// and Writes.
func SQLite(db *sqlite.DB, installation string, profile fsm.Profile) (vitalsdk.Store, reconcile.Journal, func() uint64) {
	return db, db.Journal(installation, profile.Name), db.WriteCount
}

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("installation: invalid configuration")

// countingTransport counts the HTTP requests a launch sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// Installation is one opened installation: its SDK core and its runner.
// Open it once per process (a relaunch is a new Open on the same stores).
type Installation struct {
	cfg     Config
	sdk     *vitalsdk.Client
	runner  *reconcile.Runner
	counter *countingTransport
	reports *countingTransport
	issuer  *issuer.Client
}

// Open opens the installation's SDK core on its stored state and wires its
// runner, as an app's process start does. It makes no network call.
func Open(ctx context.Context, cfg Config) (*Installation, error) {
	if cfg.Store == nil || cfg.Journal == nil || cfg.Installation == "" {
		return nil, ErrConfig
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.App == nil {
		cfg.App = func() reconcile.AppSession { return reconcile.AppSession{} }
	}
	next := cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	ct := &countingTransport{next: next}
	hc := &http.Client{Transport: ct}
	sdk, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: cfg.Profile, Installation: cfg.Installation, Store: cfg.Store,
		APIBaseURL: cfg.APIURL, AuthBaseURL: cfg.AuthURL, LegacyAuthBaseURL: cfg.LegacyAuthURL, HTTPClient: hc, Timeout: cfg.Timeout,
		KeychainLocked: cfg.KeychainLocked, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	runner, err := reconcile.NewRunner(reconcile.Config{
		Profile:     cfg.Profile,
		SDK:         sdk,
		Tokens:      issuer.NewClient(cfg.IssuerURL, cfg.Session, issuer.WithHTTPClient(hc)),
		Journal:     cfg.Journal,
		App:         cfg.App,
		Now:         cfg.Now,
		Rand:        cfg.Rand,
		Backoff:     cfg.Backoff,
		Logger:      cfg.Logger,
		AllowAPIKey: cfg.AllowAPIKey,
	})
	if err != nil {
		return nil, err
	}
	rt := &countingTransport{next: next}
	return &Installation{cfg: cfg, sdk: sdk, runner: runner, counter: ct, reports: rt,
		issuer: issuer.NewClient(cfg.IssuerURL, cfg.Session, issuer.WithHTTPClient(&http.Client{Transport: rt}))}, nil
}

// SDK returns the installation's SDK core.
func (in *Installation) SDK() *vitalsdk.Client { return in.sdk }

// Runner returns the installation's launch task.
func (in *Installation) Runner() *reconcile.Runner { return in.runner }

// Writes returns Config.Writes' count (0 without one).
func (in *Installation) Writes() uint64 { return writes(in.cfg) }

func writes(cfg Config) uint64 {
	if cfg.Writes == nil {
		return 0
	}
	return cfg.Writes()
}

// NetworkCalls counts the requests sent since Open.
func (in *Installation) NetworkCalls() int64 { return in.counter.n.Load() }

// Run runs the reconcile in the background as an app does at launch
// (RunAtLaunch), waits for it, and reports what it did and cost. The run's
// error is returned beside a complete report.
func (in *Installation) Run(ctx context.Context) (Summary, error) {
	calls0, writes0 := in.counter.n.Load(), in.Writes()
	out, err := in.runner.RunAtLaunch(ctx).Wait(context.WithoutCancel(ctx))
	rep := Summary{Outcome: out, NetworkCalls: in.counter.n.Load() - calls0}
	reports0 := in.reports.n.Load()
	rep.ReportErr = in.report(ctx, out)
	if rep.ReportErr != nil && in.cfg.Logger != nil {
		in.cfg.Logger.Warn("installation report not sent", "error", rep.ReportErr.Error())
	}
	rep.ReportCalls = in.reports.n.Load() - reports0
	rep.DBWrites = in.Writes() - writes0
	return rep, err
}

// report sends the installation's report when the launch acted, or when
// the last one is older than the interval.
func (in *Installation) report(ctx context.Context, out reconcile.Outcome) error {
	app := in.cfg.App()
	if !app.SignedIn || in.cfg.Session == "" || in.cfg.SDKVersion == "" || len(out.Passes) == 0 {
		return nil
	}
	now := in.cfg.Now()
	if len(out.Applied()) == 0 {
		if in.cfg.ReportInterval <= 0 || in.cfg.ReportLog == nil {
			return nil
		}
		last, err := in.cfg.ReportLog.LastReportSent(ctx, in.cfg.Installation)
		if err != nil {
			return err
		}
		if !last.IsZero() && now.Sub(last) < in.cfg.ReportInterval {
			return nil
		}
	}
	entry, err := in.cfg.Journal.Load(ctx)
	if err != nil {
		return err
	}
	o := out.Passes[len(out.Passes)-1].Observation
	env, region, _ := in.sdk.Environment()
	r := issuer.Report{InstallationID: in.cfg.Installation, Platform: in.cfg.Profile.Platform,
		SDKVersion: in.cfg.SDKVersion, AppSignedIn: true, AppUserID: app.AppUserID,
		AppVitalUserID: o.App.VitalUserID, AppEnvironment: app.Environment, AppRegion: app.Region,
		SDKStatus: in.sdk.Status(), SDKCurrentUserID: in.sdk.CurrentUserID(), SDKEnvironment: env, SDKRegion: region,
		LastObserved: entry.LastObserved, LastError: entry.LastError, NextAttemptAt: entry.NextAttemptAt,
		ReportedAt: now.UTC()}
	if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); ok {
		r.Profile = p.Name
	}
	timeout := in.cfg.ReportTimeout
	if timeout <= 0 {
		timeout = DefaultReportTimeout
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := in.send(rctx, r); err != nil {
		return err
	}
	if in.cfg.ReportLog == nil {
		return nil
	}
	return in.cfg.ReportLog.SetReportSent(ctx, in.cfg.Installation, now)
}

// send sends r under the installation's identity. When the issuer refuses
// the identity (the installation is bound to another app user, or another
// copy of its database, a restored backup, reported a later sequence), the
// installation takes a new identity and sends r once more under it.
func (in *Installation) send(ctx context.Context, r issuer.Report) error {
	if in.cfg.Identity == nil {
		_, err := in.issuer.SendReport(ctx, r)
		return err
	}
	id, key, err := in.cfg.Identity.InstallationIdentity(ctx, in.cfg.Installation, in.cfg.ReportID)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		seq, err := in.cfg.Identity.NextReportSequence(ctx, in.cfg.Installation)
		if err != nil {
			return err
		}
		r.InstallationID = id
		_, err = in.issuer.SendReportFrom(ctx, r, key, seq)
		if attempt > 0 || !(errors.Is(err, issuer.ErrInstallationBound) || errors.Is(err, issuer.ErrStaleSequence)) {
			return err
		}
		if in.cfg.Logger != nil {
			in.cfg.Logger.Warn("issuer refused the installation ID; reporting under a new one", "error", err.Error())
		}
		if id, key, err = in.cfg.Identity.RenewInstallationIdentity(ctx, in.cfg.Installation); err != nil {
			return err
		}
	}
}

// RecordSDKError records an SDK error the app met between launches (see
// reconcile.Runner.RecordSDKError).
func (in *Installation) RecordSDKError(ctx context.Context, sdkErr error) error {
	return in.runner.RecordSDKError(ctx, sdkErr)
}

// Launch is one process launch: Open, then Run. Opening the SDK core costs
// no write and no call, so a consistent launch stays free of both.
func Launch(ctx context.Context, cfg Config) (Summary, error) {
	writes0 := writes(cfg)
	in, err := Open(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	rep, err := in.Run(ctx)
	rep.NetworkCalls = in.NetworkCalls()
	rep.DBWrites = writes(cfg) - writes0
	return rep, err
}
