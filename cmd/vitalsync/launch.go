package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

func init() {
	register(command{name: "launch", summary: "run one launch reconcile of a device database against an issuer", run: runLaunch})
}

const launchSynopsis = `--db FILE --profile P --issuer URL --session S (--app-user U | --signed-out)
                        [--api-url U --auth-url U] [--installation ID] [--environment E --region R]
                        [--allow-api-key] [--format table|json]`

// launchConfig is one launch of one installation.
type launchConfig struct {
	db           *sqlite.DB
	profile      fsm.Profile
	installation string
	issuerURL    string
	session      string
	apiURL       string
	authURL      string
	app          reconcile.AppSession
	allowAPIKey  bool
	now          func() time.Time
	log          *slog.Logger
}

// launchReport is what a launch saw, planned and did, and what it cost.
type launchReport struct {
	Observation  reconcile.Observation `json:"observation"`
	Plan         reconcile.Plan        `json:"plan"`
	Outcome      launchOutcome         `json:"outcome"`
	NetworkCalls int64                 `json:"network_calls"`
	DBWrites     uint64                `json:"db_writes"`
}

type launchOutcome struct {
	Result  string     `json:"result"` // nothing-to-do, deferred, applied, failed
	Applied []string   `json:"applied"`
	State   string     `json:"state"`
	RetryAt *time.Time `json:"retry_at"`
	Error   string     `json:"error,omitempty"`
	Class   string     `json:"error_class,omitempty"`
	// Interrupted and Diverged: see reconcile.Outcome.
	Interrupted string `json:"interrupted,omitempty"`
	Diverged    string `json:"diverged,omitempty"`
}

// newRunner wires the launch task of lc's installation: the SDK core, the
// issuer's client (through hc) and the SQLite journal.
func newRunner(lc launchConfig, sdk *vitalsdk.Client, hc *http.Client) (*reconcile.Runner, error) {
	now := lc.now
	if now == nil {
		now = time.Now
	}
	return reconcile.NewRunner(reconcile.Config{
		Profile: lc.profile,
		SDK:     sdk,
		Tokens:  issuer.NewClient(lc.issuerURL, lc.session, issuer.WithHTTPClient(hc)),
		Journal: lc.db.Journal(lc.installation, lc.profile.Name),
		App:     func() reconcile.AppSession { return lc.app },
		Now:     now,
		Rand:    rand.Float64,
		Logger:  lc.log,
		// A sandbox evaluation may keep an API-key session.
		AllowAPIKey: lc.allowAPIKey,
	})
}

// launchOnce is one process launch: it opens the SDK core on the device
// database (a relaunch), runs the reconcile in the background as an app
// would, waits for it and reports. The run's error is returned beside a
// complete report.
func launchOnce(ctx context.Context, lc launchConfig) (launchReport, error) {
	var rep launchReport
	hc, counter := newCountingClient()
	writes0 := lc.db.WriteCount()
	now := lc.now
	if now == nil {
		now = time.Now
	}
	sdk, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: lc.profile, Installation: lc.installation, Store: lc.db,
		APIBaseURL: lc.apiURL, AuthBaseURL: lc.authURL, HTTPClient: hc, Now: now, Logger: lc.log})
	if err != nil {
		return rep, err
	}
	runner, err := newRunner(lc, sdk, hc)
	if err != nil {
		return rep, err
	}
	out, runErr := runner.RunAtLaunch(ctx).Wait(context.WithoutCancel(ctx))
	rep.Observation, rep.Plan = out.Observation, out.Plan
	rep.Outcome = launchOutcome{Result: out.Result(), Applied: []string{}, State: string(out.State),
		Interrupted: out.Interrupted, Diverged: out.Diverged}
	for _, a := range out.Applied {
		rep.Outcome.Applied = append(rep.Outcome.Applied, a.String())
	}
	retryAt := out.RetryAt
	if runErr != nil {
		rep.Outcome.Result = "failed"
		rep.Outcome.Error = runErr.Error()
		var re *reconcile.RunError
		if errors.As(runErr, &re) {
			rep.Outcome.Class = string(re.Class)
			retryAt = re.RetryAt
		}
		rep.Outcome.State = ""
		if st, err := fsm.Classify(sdk.Status(), "", lc.profile); err == nil {
			rep.Outcome.State = string(st)
		}
	}
	if !retryAt.IsZero() {
		t := retryAt.UTC()
		rep.Outcome.RetryAt = &t
	}
	rep.NetworkCalls = counter.n.Load()
	rep.DBWrites = lc.db.WriteCount() - writes0
	return rep, runErr
}

func runLaunch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "launch", launchSynopsis)
	dbPath := fs.String("db", "", "device database file (created if missing)")
	profileName := fs.String("profile", "", "SDK profile: "+strings.Join(fsm.ProfileNames(), ", "))
	issuerURL := fs.String("issuer", "", "base URL of the sign-in token issuer")
	session := fs.String("session", "", "the app user's issuer session token (see 'vitalsync session')")
	appUser := fs.String("app-user", "", "the app user signed in to the app")
	signedOut := fs.Bool("signed-out", false, "the app has no user signed in")
	apiURL := fs.String("api-url", "", "Junction API base URL override (for the emulator)")
	authURL := fs.String("auth-url", "", "Junction auth server base URL override (for the emulator)")
	installation := fs.String("installation", "default", "installation key in the database")
	envName := fs.String("environment", "sandbox", "the app's Junction environment")
	regionName := fs.String("region", "us", "the app's Junction region")
	allowAPIKey := fs.Bool("allow-api-key", false, "keep a matching API-key session (sandbox evaluation only)")
	format := fs.String("format", "table", "output format: table or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("launch takes no arguments")
	}
	switch {
	case *dbPath == "":
		return usagef("launch: --db is required")
	case *issuerURL == "":
		return usagef("launch: --issuer is required")
	case (*appUser == "") == !*signedOut:
		return usagef("launch: give exactly one of --app-user U and --signed-out")
	case *appUser != "" && *session == "":
		return usagef("launch: --session is required with --app-user")
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	profile, ok := fsm.ParseProfile(*profileName)
	if !ok {
		return usagef("launch: --profile must be one of %s", strings.Join(fsm.ProfileNames(), ", "))
	}
	envv, ok1 := fsm.ParseEnvironment(*envName)
	region, ok2 := fsm.ParseRegion(*regionName)
	if !ok1 || !ok2 {
		return usagef("launch: unknown --environment %q or --region %q", *envName, *regionName)
	}
	db, err := sqlite.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	lc := launchConfig{db: db, profile: profile, installation: *installation, issuerURL: *issuerURL,
		session: *session, apiURL: *apiURL, authURL: *authURL, allowAPIKey: *allowAPIKey, log: e.log}
	if *appUser != "" {
		lc.app = reconcile.AppSession{SignedIn: true, AppUserID: *appUser, Environment: envv, Region: region}
	}
	rep, runErr := launchOnce(ctx, lc)
	if rep.Outcome.Result != "" {
		if *format == "json" {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else if err := printLaunch(e.stdout, rep); err != nil {
			return err
		}
	}
	return runErr
}

// printLaunch prints a launch report for people.
func printLaunch(w io.Writer, rep launchReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	o := rep.Observation
	app := "signed out"
	if o.App.SignedIn {
		app = "signed in as " + o.App.AppUserID
		if o.App.VitalUserID != "" {
			app += " (Vital user " + o.App.VitalUserID + ")"
		}
	}
	sdk := o.SDK.Status.String()
	if o.SDK.CurrentUserID != "" {
		sdk += " user " + o.SDK.CurrentUserID
	}
	fmt.Fprintf(tw, "  app\t%s\n", app)
	fmt.Fprintf(tw, "  sdk\t%s → %s\n", sdk, orDash(string(rep.Plan.Observed)))
	fmt.Fprintf(tw, "  plan\t%s [%s]\n", rep.Plan, rep.Plan.Discrepancy)
	did := rep.Outcome.Result
	if len(rep.Outcome.Applied) > 0 {
		did += ": " + strings.Join(rep.Outcome.Applied, ", ")
	}
	if rep.Outcome.Error != "" {
		did += " — " + rep.Outcome.Error
	}
	fmt.Fprintf(tw, "  did\t%s\n", did)
	if rep.Outcome.Interrupted != "" {
		fmt.Fprintf(tw, "  note\tthe previous launch died during %s\n", rep.Outcome.Interrupted)
	}
	fmt.Fprintf(tw, "  now\t%s\n", orDash(rep.Outcome.State))
	if rep.Outcome.Diverged != "" {
		fmt.Fprintf(tw, "  warning\tthe SDK left the state machine: %s\n", rep.Outcome.Diverged)
	}
	if rep.Outcome.RetryAt != nil {
		fmt.Fprintf(tw, "  retry at\t%s\n", rep.Outcome.RetryAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "  cost\t%d network calls, %d database writes\n", rep.NetworkCalls, rep.DBWrites)
	return tw.Flush()
}
