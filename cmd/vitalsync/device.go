package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
)

const deviceSynopsis = `--db FILE --profile P [--installation ID] [--api-url U --auth-url U [--allow-url-change]] [--legacy-auth-url U] <subcommand> [args]

The first command (or launch) on a database needs --api-url and --auth-url;
the database remembers them and later commands use them. Other URLs later
are refused unless --allow-url-change is given. --legacy-auth-url is the
base of the legacy Firebase endpoints of the legacy profiles (ios-1.3,
ios-1.8.1, android-4.2.0), addressed as for a Firebase emulator; it is not
remembered. Secrets given as "-" are read from stdin, so they never appear
in ps.

subcommands (each invocation is one app launch):
  status               print the SDK status
  configure K E R      configure API-key mode (or --api-key K|- --environment E --region R)
  set-user USER_ID     set the API-key mode user (the deprecated SDK call)
  sign-in TOKEN|-      sign in with a Sign-In Token ("-": read it from stdin)
  identify EXT FLAGS   identifyExternalUser with --sign-in-token T|-, or with
                       --api-key K|- --user U --environment E --region R
  sign-out             erase the installation's SDK state
  reinstall            delete and reinstall the app, then launch (reference §10.5):
                       iOS ≤1.3 keeps its session, iOS 1.4+ is wiped, Android
                       restores its Auto Backup without the external user ID
                       (--no-backup: Android starts empty)
  refresh              refresh the session's tokens
  whoami               fetch the signed-in user (GET /v2/user/{id})

Every subcommand but whoami prints {"state","status","current_user_id"} after it ran.

flags:`

func runDevice(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "device", deviceSynopsis)
	dbPath := fs.String("db", "", "device database file (created if missing)")
	prof := profileFlag(fs, "", "SDK profile")
	inst := fs.String("installation", "default", "installation key in the database")
	urls := newEndpointFlags(fs)
	timeout := durationFlag(fs, "timeout", 30*time.Second, "timeout of each HTTP request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dbPath == "" {
		return usagef("device: --db is required")
	}
	profile, err := prof.required("device")
	if err != nil {
		return err
	}
	if *inst == "" {
		return usagef("device: --installation must not be empty")
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("device: no subcommand given")
	}
	sub, subArgs := fs.Arg(0), fs.Args()[1:]
	backup := true
	if sub == "reinstall" {
		if backup, err = parseReinstall(e, subArgs); err != nil {
			return err
		}
		subArgs = nil
	}
	op, err := parseDeviceOp(e, sub, subArgs)
	if err != nil {
		return err
	}

	db, ends, err := urls.open(ctx, "device", *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if sub == "reinstall" {
		if err := vitalsdk.Reinstall(ctx, db, *inst, profile, backup); err != nil {
			return err
		}
	}
	client, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: profile, Installation: *inst, Store: db,
		APIBaseURL: ends.APIBaseURL, AuthBaseURL: ends.AuthBaseURL, LegacyAuthBaseURL: urls.legacyAuthURL.url, Timeout: *timeout, Logger: e.log})
	if err != nil {
		return err
	}
	// One app launch: the state it leaves is printed (but after whoami,
	// which printed the user).
	st, err := installation.Operate(ctx, client, db.Journal(*inst, profile.Name), profile, "device "+sub, op)
	if err != nil || sub == "whoami" {
		return err
	}
	return writeDeviceJSON(e.stdout, st)
}

// parseReinstall parses "device reinstall [--no-backup]": the app is
// deleted and installed again before this launch, restoring its backup
// unless told not to.
func parseReinstall(e *env, args []string) (backup bool, err error) {
	fs := newFlagSet(e, "device reinstall", "[--no-backup]")
	noBackup := fs.Bool("no-backup", false, "Android: no Auto Backup restore (the app starts empty)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return false, err
	}
	return !*noBackup, nil
}

// deviceOp is a parsed subcommand.
type deviceOp = func(ctx context.Context, sdk *vitalsdk.Client) error

// parseDeviceOp parses a subcommand and its arguments, reading secrets given
// as "-" from stdin, before anything is opened.
func parseDeviceOp(e *env, sub string, args []string) (deviceOp, error) {
	noArgs := func(op deviceOp) (deviceOp, error) {
		if len(args) > 0 {
			return nil, usagef("device %s takes no arguments", sub)
		}
		return op, nil
	}
	switch sub {
	case "status", "reinstall": // reinstall acts before the launch (runDevice)
		return noArgs(func(context.Context, *vitalsdk.Client) error { return nil })
	case "sign-out":
		return noArgs(func(ctx context.Context, sdk *vitalsdk.Client) error { return sdk.SignOut(ctx) })
	case "refresh":
		return noArgs(func(ctx context.Context, sdk *vitalsdk.Client) error { return sdk.Refresh(ctx) })
	case "whoami":
		return noArgs(func(ctx context.Context, sdk *vitalsdk.Client) error {
			u, err := sdk.GetOwnUser(ctx)
			if err != nil {
				return err
			}
			return writeDeviceJSON(e.stdout, u)
		})
	case "set-user":
		if len(args) != 1 || args[0] == "" {
			return nil, usagef("device set-user takes one user ID")
		}
		id := args[0]
		return func(ctx context.Context, sdk *vitalsdk.Client) error { return sdk.SetUserID(ctx, id) }, nil
	case "sign-in":
		if len(args) != 1 || args[0] == "" {
			return nil, usagef("device sign-in takes one sign-in token, or - to read it from stdin")
		}
		tok, err := deviceSecretArg(e, args[0], "sign-in token")
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, sdk *vitalsdk.Client) error { return sdk.SignIn(ctx, tok) }, nil
	case "configure":
		return parseDeviceConfigure(e, args)
	case "identify":
		return parseDeviceIdentify(e, args)
	}
	return nil, usagef("device: unknown subcommand %q", sub)
}

func parseDeviceConfigure(e *env, args []string) (deviceOp, error) {
	fs := newFlagSet(e, "device configure", "--api-key K|- --environment E --region R  (or: K E R)")
	key := fs.String("api-key", "", `team API key ("-": read stdin)`)
	env, reg := environmentFlag(fs, "", "environment"), regionFlag(fs, "", "region")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	switch fs.NArg() {
	case 0:
	case 3:
		if *key != "" || env.value != "" || reg.value != "" {
			return nil, usagef("device configure: give flags or three arguments, not both")
		}
		*key = fs.Arg(0)
		if err := errors.Join(env.Set(fs.Arg(1)), reg.Set(fs.Arg(2))); err != nil {
			return nil, usagef("device configure: %v", err)
		}
	default:
		return nil, usagef("device configure takes --api-key, --environment and --region, or three arguments")
	}
	if *key == "" {
		return nil, usagef("device configure: an API key is required")
	}
	if env.value == "" || reg.value == "" {
		return nil, usagef("device configure: --environment (%s) and --region (%s) are required", choices(fsm.Environments()), choices(fsm.Regions()))
	}
	apiKey, err := deviceSecretArg(e, *key, "API key")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, sdk *vitalsdk.Client) error {
		return sdk.Configure(ctx, apiKey, env.value, reg.value)
	}, nil
}

func parseDeviceIdentify(e *env, args []string) (deviceOp, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, usagef("device identify takes an external user ID, then flags")
	}
	ext := args[0]
	fs := newFlagSet(e, "device identify", "EXTERNAL_ID (--sign-in-token T|- | --api-key K|- --user U --environment E --region R)")
	token := fs.String("sign-in-token", "", `Sign-In Token ("-": read stdin)`)
	key := fs.String("api-key", "", `team API key ("-": read stdin)`)
	user := fs.String("user", "", "Vital user ID (API-key mode)")
	env, reg := environmentFlag(fs, "", "environment (API-key mode)"), regionFlag(fs, "", "region (API-key mode)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		// Not echoed: a misplaced argument may be a token or a key.
		return nil, usagef("device identify: %d unexpected arguments after the flags", fs.NArg())
	}
	switch {
	case *token != "" && *key == "" && *user == "" && env.value == "" && reg.value == "":
		tok, err := deviceSecretArg(e, *token, "sign-in token")
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, sdk *vitalsdk.Client) error {
			return sdk.IdentifyExternalUser(ctx, ext, vitalsdk.SignInTokenAuth{Token: tok})
		}, nil
	case *token == "" && *key != "" && *user != "":
		if env.value == "" || reg.value == "" {
			return nil, usagef("device identify: --environment (%s) and --region (%s) are required with --api-key", choices(fsm.Environments()), choices(fsm.Regions()))
		}
		k, err := deviceSecretArg(e, *key, "API key")
		if err != nil {
			return nil, err
		}
		auth := vitalsdk.APIKeyAuth{Key: k, UserID: *user, Environment: env.value, Region: reg.value}
		return func(ctx context.Context, sdk *vitalsdk.Client) error { return sdk.IdentifyExternalUser(ctx, ext, auth) }, nil
	}
	return nil, usagef("device identify takes --sign-in-token, or --api-key with --user, --environment and --region")
}

// deviceSecretArg returns v, or the trimmed contents of stdin when v is "-".
func deviceSecretArg(e *env, v, what string) (string, error) {
	if v != "-" {
		return v, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	if err != nil {
		return "", fmt.Errorf("device: read %s from stdin: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", usagef("device: empty %s on stdin", what)
	}
	return s, nil
}

func writeDeviceJSON(w io.Writer, v any) error {
	if err := writeJSONIndent(w, v); err != nil {
		return errors.Join(errors.New("device: write output"), err)
	}
	return nil
}
