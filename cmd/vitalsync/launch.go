package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitalsync/vitalsync/adapters/installation"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

func init() {
	register(command{name: "launch", summary: "run one launch reconcile of a device database against an issuer", run: runLaunch})
}

const launchSynopsis = `--db FILE --profile P --issuer URL --session S (--app-user U | --signed-out)
                        [--api-url U --auth-url U] [--installation ID] [--environment E --region R]
                        [--allow-api-key] [--format table|json]`

// launchReport is what a launch saw, planned and did, and what it cost:
// every pass of the runner (its observation, its plan and the actions it
// applied), a summary of the outcome, and the network calls and database
// writes.
type launchReport struct {
	Passes       []reconcile.Pass `json:"passes"`
	Outcome      launchOutcome    `json:"outcome"`
	NetworkCalls int64            `json:"network_calls"`
	DBWrites     uint64           `json:"db_writes"`
	// ReportCalls counts the installation report sent after the
	// reconcile, apart from its network calls.
	ReportCalls int64 `json:"report_calls"`
}

type launchOutcome struct {
	Result  reconcile.Result `json:"result"` // nothing-to-do, applied, deferred, failed, terminal
	Applied []string         `json:"applied"`
	State   string           `json:"state"`
	RetryAt *time.Time       `json:"retry_at"`
	Error   string           `json:"error,omitempty"`
	Class   string           `json:"error_class,omitempty"`
	// Interrupted and Divergence: see reconcile.Outcome.
	Interrupted string                `json:"interrupted,omitempty"`
	Divergence  *reconcile.Divergence `json:"divergence,omitempty"`
}

// first returns the report's first pass.
func (r launchReport) first() reconcile.Pass {
	if len(r.Passes) == 0 {
		return reconcile.Pass{}
	}
	return r.Passes[0]
}

// newLaunchReport summarises an installation's launch for printing.
func newLaunchReport(rep installation.Report, runErr error, profile fsm.Profile, sdkStatus fsm.Status) launchReport {
	out := rep.Outcome
	lr := launchReport{Passes: out.Passes, NetworkCalls: rep.NetworkCalls, DBWrites: rep.DBWrites,
		ReportCalls: rep.ReportCalls}
	if lr.Passes == nil {
		lr.Passes = []reconcile.Pass{}
	}
	lr.Outcome = launchOutcome{Result: out.Result, Applied: []string{}, State: string(out.State),
		Divergence: out.Divergence}
	if out.Interrupted != nil {
		lr.Outcome.Interrupted = out.Interrupted.String()
	}
	for _, a := range out.Applied() {
		lr.Outcome.Applied = append(lr.Outcome.Applied, a.String())
	}
	retryAt := out.RetryAt
	if runErr != nil {
		if lr.Outcome.Result == "" {
			lr.Outcome.Result = reconcile.ResultFailed
		}
		lr.Outcome.Error = runErr.Error()
		var re *reconcile.RunError
		if errors.As(runErr, &re) {
			lr.Outcome.Class = string(re.Class)
			retryAt = re.RetryAt
		}
		lr.Outcome.State = ""
		if st, err := fsm.Classify(sdkStatus, "", profile); err == nil {
			lr.Outcome.State = string(st)
		}
	}
	if !retryAt.IsZero() {
		t := retryAt.UTC()
		lr.Outcome.RetryAt = &t
	}
	return lr
}

// launchOnce is one process launch of cfg's installation (see
// installation.Launch), summarised for printing. The run's error is
// returned beside a complete report.
func launchOnce(ctx context.Context, cfg installation.Config) (launchReport, error) {
	in, err := installation.Open(ctx, cfg)
	if err != nil {
		return launchReport{}, err
	}
	writes0 := cfg.DB.WriteCount()
	rep, runErr := in.Run(ctx)
	rep.NetworkCalls, rep.DBWrites = in.NetworkCalls(), cfg.DB.WriteCount()-writes0
	return newLaunchReport(rep, runErr, cfg.Profile, in.SDK().Status()), runErr
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
	inst := fs.String("installation", "default", "installation key in the database")
	envName := fs.String("environment", "sandbox", "the app's Junction environment")
	regionName := fs.String("region", "us", "the app's Junction region")
	allowAPIKey := fs.Bool("allow-api-key", false, "keep a matching API-key session (sandbox evaluation only)")
	format := fs.String("format", "table", "output format: table or json")
	sdkVersion := fs.String("sdk-version", "", "the SDK release the installation runs, sent in its reports (empty: no report)")
	reportInterval := fs.Duration("report-interval", installation.DefaultReportInterval, "a quiet launch reports when the last report is older than this (0: only launches that act report)")
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
	cfg := installation.Config{DB: db, Profile: profile, Installation: *inst, IssuerURL: *issuerURL,
		Session: *session, APIURL: *apiURL, AuthURL: *authURL, AllowAPIKey: *allowAPIKey, Logger: e.log,
		SDKVersion: *sdkVersion, ReportInterval: *reportInterval}
	if *appUser != "" {
		app := reconcile.AppSession{SignedIn: true, AppUserID: *appUser, Environment: envv, Region: region}
		cfg.App = func() reconcile.AppSession { return app }
	}
	rep, runErr := launchOnce(ctx, cfg)
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

// printLaunch prints a launch report for people: what the app and the SDK
// said, then each pass's plan and what the runner applied.
func printLaunch(w io.Writer, rep launchReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	first := rep.first()
	o := first.Observation
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
	fmt.Fprintf(tw, "  sdk\t%s → %s\n", sdk, orDash(string(first.Plan.Observed)))
	if rep.Outcome.Interrupted != "" {
		fmt.Fprintf(tw, "  note\tthe previous launch died during %s\n", rep.Outcome.Interrupted)
	}
	for i, p := range rep.Passes {
		if i > 0 && p.Plan.Empty() && p.Plan.RetryAt.IsZero() && !p.Plan.Terminal && p.Plan.Discrepancy == reconcile.Consistent {
			break // the closing check of a launch that acted: "now" says it
		}
		fmt.Fprintf(tw, "  plan\t%s [%s]\n", p.Plan, p.Plan.Discrepancy)
		for _, st := range p.Applied {
			if st.Err != nil {
				fmt.Fprintf(tw, "  did\t%s — %s: %v\n", st.Action, st.Class, st.Err)
			} else {
				fmt.Fprintf(tw, "  did\t%s\n", st.Action)
			}
		}
	}
	result := string(rep.Outcome.Result)
	if rep.Outcome.Error != "" {
		result += " — " + rep.Outcome.Error
	}
	fmt.Fprintf(tw, "  result\t%s\n", result)
	fmt.Fprintf(tw, "  now\t%s\n", orDash(rep.Outcome.State))
	if d := rep.Outcome.Divergence; d != nil {
		fmt.Fprintf(tw, "  warning\tthe SDK left the state machine: %s\n", d)
	}
	if rep.Outcome.RetryAt != nil {
		fmt.Fprintf(tw, "  retry at\t%s\n", rep.Outcome.RetryAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "  cost\t%d network calls, %d database writes, %d report calls\n", rep.NetworkCalls, rep.DBWrites, rep.ReportCalls)
	return tw.Flush()
}
