package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

const launchSynopsis = `--db FILE --profile P --issuer URL (--app-user U [--session-file F] | --signed-out)
                        [--api-url U --auth-url U [--allow-url-change]] [--legacy-auth-url U]
                        [--now] [--installation ID]
                        [--environment E --region R] [--allow-api-key] [--format table|json]

The session comes from --session-file F, or else $` + envSession + `; --session S
still works but shows the session to anyone who can run ps.

The first launch (or device command) on a database needs --api-url and
--auth-url; the database remembers them and later launches use them. Other
URLs later are refused unless --allow-url-change is given. --legacy-auth-url
is the base of the legacy Firebase endpoints that the legacy profiles
(ios-1.3, ios-1.8.1, android-4.2.0) sign in and refresh through, addressed
as for a Firebase emulator (an emulator's URL); it is not remembered.

exit codes:
  0  the SDK agrees with the app (nothing to do, or the plan was applied)
  1  the launch failed (see the error; transient failures schedule a retry)
  2  usage error
  3  deferred: app and SDK disagree but a backed-off retry is not due yet
     (--now retries at once)

flags:`

// envSession is the environment variable launch reads the app user's
// issuer session from when neither --session nor --session-file is given.
const envSession = "VITALSYNC_SESSION"

// exitDeferred is the exit code of a launch deferred by backoff.
const exitDeferred = 3

// launchFlags are launch's parsed flags: the launch's configuration (what
// the database, the session and the app give is set by runLaunch), and
// where those come from.
type launchFlags struct {
	installation.Config
	dbPath, appUser string
	profile         *profileValue
	env             *enumValue[fsm.Environment]
	region          *enumValue[fsm.Region]
	format          *choice
	issuer          urlFlag
	ends            *endpointFlags
	session         *secretFlag
	signedOut, now  bool
}

// defaultInstallation is the device database's key of the installation
// when --installation gives none.
const defaultInstallation = "default"

// parseLaunchFlags parses and checks launch's flags; every mistake is a
// usage error.
func parseLaunchFlags(e *env, args []string) (*launchFlags, error) {
	f := &launchFlags{}
	fs := newFlagSet(e, "launch", launchSynopsis)
	fs.StringVar(&f.dbPath, "db", "", "device database file (created if missing)")
	f.profile = profileFlag(fs, "", "SDK profile")
	fs.Var(&f.issuer, "issuer", "base URL of the sign-in token issuer")
	f.session = newSecretFlag(fs, "session", envSession, "the app user's issuer session token (see 'vitalsync session')")
	fs.StringVar(&f.appUser, "app-user", "", "the app user signed in to the app")
	fs.BoolVar(&f.signedOut, "signed-out", false, "the app has no user signed in")
	f.ends = newEndpointFlags(fs)
	fs.BoolVar(&f.now, "now", false, "ignore a pending backoff and try at once (after fixing what made the last attempt fail)")
	fs.StringVar(&f.Installation, "installation", "", "installation key in the database, and the ID its reports carry (for tests; default: the key \"default\", reporting under a random 128-bit ID the database keeps)")
	f.env = environmentFlag(fs, fsm.Sandbox, "the app's Junction environment")
	f.region = regionFlag(fs, fsm.US, "the app's Junction region")
	fs.BoolVar(&f.AllowAPIKey, "allow-api-key", false, "keep a matching API-key session (sandbox evaluation only)")
	f.format = choiceFlag(fs, "format", "table", "output format", "table", "json")
	fs.StringVar(&f.SDKVersion, "sdk-version", "", "the SDK release the installation runs, sent in its reports (empty: no report)")
	durationFlagVar(fs, &f.ReportInterval, "report-interval", installation.DefaultReportInterval, "a quiet launch reports when the last report is older than this (0: only launches that act report)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return nil, err
	}
	if f.Installation != "" {
		if err := issuer.ValidateAppUserID(f.Installation); err != nil {
			return nil, usageErr(fmt.Errorf("launch: --installation: %w", err))
		}
		// Reports carry the ID given; without one, the database's random
		// installation ID.
		f.ReportID = f.Installation
	} else {
		f.Installation = defaultInstallation
	}
	switch {
	case f.dbPath == "":
		return nil, usagef("launch: --db is required")
	case f.issuer.url == "":
		return nil, usagef("launch: --issuer is required")
	case (f.appUser == "") == !f.signedOut:
		return nil, usagef("launch: give exactly one of --app-user U and --signed-out")
	}
	if f.appUser != "" {
		// The issuer would refuse it anyway; refusing here keeps an ID with
		// control characters out of the journal and the output.
		if err := issuer.ValidateAppUserID(f.appUser); err != nil {
			return nil, usageErr(fmt.Errorf("launch: --app-user: %w", err))
		}
	}
	return f, nil
}

// loadLaunchSession returns the app user's session from --session,
// --session-file or $VITALSYNC_SESSION; a signed-in app needs one.
func loadLaunchSession(f *launchFlags) (string, error) {
	s, ok, err := f.session.load()
	if err != nil {
		return "", err
	}
	if !ok && f.appUser != "" {
		return "", usagef("launch: --app-user needs a session: --session-file F or $%s", envSession)
	}
	return s, nil
}

func runLaunch(ctx context.Context, e *env, args []string) error {
	f, err := parseLaunchFlags(e, args)
	if err != nil {
		return err
	}
	cfg := f.Config
	if cfg.Session, err = loadLaunchSession(f); err != nil {
		return err
	}
	if cfg.Profile, err = f.profile.required("launch"); err != nil {
		return err
	}
	db, ends, err := f.ends.open(ctx, "launch", f.dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if f.now {
		if err := installation.ClearBackoff(ctx, db.Journal(cfg.Installation, cfg.Profile.Name), "launch --now: backoff cleared"); err != nil {
			return err
		}
	}
	cfg.IssuerURL, cfg.Logger = f.issuer.url, e.log
	cfg.APIURL, cfg.AuthURL, cfg.LegacyAuthURL = ends.APIBaseURL, ends.AuthBaseURL, f.ends.legacyAuthURL.url
	// The database keeps the SDK's state, the journal, the reports' log
	// and the installation's random ID.
	cfg.Store, cfg.Journal, cfg.Writes = installation.SQLite(db, cfg.Installation, cfg.Profile)
	cfg.ReportLog, cfg.Identity = db, db
	if f.appUser != "" {
		app := reconcile.AppSession{SignedIn: true, AppUserID: f.appUser, Environment: f.env.value, Region: f.region.value}
		cfg.App = func() reconcile.AppSession { return app }
	}
	rep, runErr := installation.RecordLaunch(ctx, cfg)
	if rep.Outcome.Result != "" {
		if f.format.String() == "json" {
			if err := writeJSONIndent(e.stdout, rep); err != nil {
				return err
			}
		} else if err := installation.WriteLaunchTable(e.stdout, rep, display); err != nil {
			return err
		}
	}
	return launchExit(rep, runErr)
}

// deferredError is a launch that did nothing because app and SDK disagree
// while a backed-off retry is not due: exit code 3.
type deferredError struct {
	retryAt time.Time
}

func (e *deferredError) Error() string {
	return fmt.Sprintf("launch deferred: app and SDK disagree but the next attempt is due at %s; pass --now to try at once",
		e.retryAt.UTC().Format(time.RFC3339))
}

// exitCode is the process exit code of a deferred launch.
func (e *deferredError) exitCode() int { return exitDeferred }

// launchExit turns a launch's outcome into run's error: the run's error if
// it failed, a *deferredError if it was deferred, nil otherwise.
func launchExit(rep installation.LaunchRecord, runErr error) error {
	if runErr != nil {
		return runErr
	}
	if rep.Outcome.Result == reconcile.ResultDeferred {
		var retryAt time.Time
		if rep.Outcome.RetryAt != nil {
			retryAt = *rep.Outcome.RetryAt
		}
		return &deferredError{retryAt: retryAt}
	}
	return nil
}
