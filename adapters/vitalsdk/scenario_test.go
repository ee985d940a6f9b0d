package vitalsdk_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

// errorNames name the outcomes in transcripts.
var errorNames = []struct {
	err  error
	name string
}{
	{vitalsdk.ErrAlreadySignedIn, "alreadySignedIn"},
	{vitalsdk.ErrInvalidSignInToken, "invalidSignInToken"},
	{vitalsdk.ErrInvalidUser, "invalidUser"},
	{vitalsdk.ErrNeedsReauthentication, "needsReauthentication"},
	{vitalsdk.ErrNotConfigured, "notConfigured"},
	{vitalsdk.ErrNotSignedIn, "notSignedIn"},
	{vitalsdk.ErrUnsupported, "unsupported"},
	{vitalsdk.ErrInvalidArgument, "invalidArgument"},
	{vitalsdk.ErrUndecodableTokenError, "undecodableTokenError"},
	{vitalsdk.ErrMalformedSignInToken, "malformedSignInToken"},
	{vitalsdk.ErrKeychainLocked, "keychainLocked"},
	{junction.ErrServer, "server error"},
	{junction.ErrTransport, "transport error"},
	{junction.ErrUnauthorized, "unauthorized"},
	{junction.ErrValidation, "bad request"},
}

// TestScenarios replays the datadriven files in testdata/scenarios against
// the emulator (served in process). Each file starts with "profile P"; after
// every command the transcript shows its outcome, the status, the
// classified state, the current user (by the scenario's name for it, in
// upper case when the SDK reports it so) and the number of token-endpoint
// requests it made (firebase-requests on the legacy profiles, which use
// Identity Toolkit and Secure Token). Run with -rewrite to regenerate the expected output.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, filepath.Join("testdata", "scenarios"), func(t *testing.T, path string) {
		env := &scenarioEnv{t: t, newWorld: newWorld}
		datadriven.RunTest(t, path, env.Handle)
	})
}

// TestScenarioOverLoopbackHTTP replays one scenario with the emulator behind
// a real loopback server, so the SDK core's clients are also exercised over
// the wire.
func TestScenarioOverLoopbackHTTP(t *testing.T) {
	env := &scenarioEnv{t: t, newWorld: newLoopbackWorld}
	datadriven.RunTest(t, filepath.Join("testdata", "scenarios", "ios-1.8-sign-in"), env.Handle)
}

// scenarioEnv is the world of one scenario file and the names it gave.
type scenarioEnv struct {
	t        *testing.T // the file's test: the world lives as long as it
	newWorld func(*testing.T, string) *world
	w        *world
	c        *vitalsdk.Client
	users    map[string]string // name → Vital user ID
	minted   map[string]string // Vital user ID → last Sign-In Token minted
	deleted  map[string]bool   // Vital user ID → deleted
	last     fsm.State
}

// Handle runs one command of a scenario file and returns its transcript.
func (e *scenarioEnv) Handle(t *testing.T, d *datadriven.TestData) string {
	if d.Cmd == "_breakpoint" {
		// This is a helper case to attach a debugger to when a problem needs
		// to be investigated in a longer test file. In such a case, add the
		// following stanza immediately before the interesting behavior
		// starts:
		//
		// _breakpoint
		// ----
		// ok
		//
		// and set a breakpoint on the `if` above.
		return "ok"
	}
	if d.Cmd != "profile" && e.w == nil {
		d.Fatalf(t, "a scenario starts with: profile P")
	}
	var out strings.Builder
	var before, beforeLegacy int
	if e.w != nil {
		before, beforeLegacy = e.w.em.Requests(emulator.RouteToken), e.w.legacyRequests()
	}
	var err error
	switch d.Cmd {
	case "profile":
		// Example:
		//
		// profile android-5.0
		//
		// Builds the world (a fresh database and emulator) and launches the
		// app on it with profile P.
		e.w = e.newWorld(e.t, e.arg(t, d, 0))
		e.c = e.w.launch()
		e.users, e.minted, e.deleted = map[string]string{}, map[string]string{}, map[string]bool{}
	case "user":
		// Example:
		//
		// user a
		//
		// Creates a Vital user and calls it a.
		e.users[e.arg(t, d, 0)] = e.w.newUser()
	case "launch":
		// Example:
		//
		// launch
		//
		// Relaunches the app: the database is closed and reopened, and a new
		// client loads from it.
		e.c = e.w.reopen()
	case "configure":
		// Example:
		//
		// configure
		//
		// Configures the SDK with the team API key (sandbox, us).
		err = e.c.Configure(e.w.ctx, e.w.em.APIKey(), fsm.Sandbox, fsm.US)
	case "set-user":
		// Example:
		//
		// set-user a
		//
		// Calls SetUserID (API-key mode) with a's Vital user ID.
		err = e.c.SetUserID(e.w.ctx, e.user(t, d, 0))
	case "sign-in":
		// Example:
		//
		// sign-in a
		//
		// Signs in with a fresh Sign-In Token for a (for a deleted user, the
		// last one minted before the deletion).
		err = e.c.SignIn(e.w.ctx, e.tokenFor(e.user(t, d, 0)))
	case "identify":
		// Example:
		//
		// identify ext-1 token a
		// identify ext-1 api-key a
		//
		// Calls IdentifyExternalUser for the external ID, authenticating as a
		// with a Sign-In Token or with the API key.
		if len(d.CmdArgs) != 3 {
			d.Fatalf(t, "identify EXT token|api-key USER")
		}
		uid := e.user(t, d, 2)
		var auth vitalsdk.Authenticate = vitalsdk.SignInTokenAuth{Token: e.tokenFor(uid)}
		switch mode := e.arg(t, d, 1); mode {
		case "token":
		case "api-key":
			auth = vitalsdk.APIKeyAuth{Key: e.w.em.APIKey(), UserID: uid, Environment: fsm.Sandbox, Region: fsm.US}
		default:
			d.Fatalf(t, "identify: unknown mode %q", mode)
		}
		err = e.c.IdentifyExternalUser(e.w.ctx, e.arg(t, d, 0), auth)
	case "sign-out":
		// Example:
		//
		// sign-out
		err = e.c.SignOut(e.w.ctx)
	case "refresh":
		// Example:
		//
		// refresh
		//
		// Forces a token refresh.
		err = e.c.Refresh(e.w.ctx)
	case "access-token":
		// Example:
		//
		// access-token
		//
		// Asks for an access token, refreshing it if it expired.
		_, err = e.c.AccessToken(e.w.ctx)
	case "whoami":
		// Example:
		//
		// whoami
		//
		// Fetches the SDK's own user and prints it by name.
		var u junction.User
		if u, err = e.c.GetOwnUser(e.w.ctx); err == nil {
			fmt.Fprintf(&out, "user %s\n", e.nameOf(u.UserID))
		}
	case "expire":
		// Example:
		//
		// expire
		//
		// Moves the clock past the access token's expiry.
		e.w.expire()
	case "launch-locked":
		// Example:
		//
		// launch-locked
		//
		// Relaunches before the device's first unlock (Options.KeychainLocked).
		e.c = e.w.launchWith(func(o *vitalsdk.Options) { o.KeychainLocked = true })
	case "unlock":
		// Example:
		//
		// unlock
		//
		// The device's first unlock (Client.Unlock).
		err = e.c.Unlock(e.w.ctx)
	case "launch-uncreated":
		// Example:
		//
		// launch-uncreated
		//
		// Relaunches without creating the SDK client (Options.DeferCreate).
		e.c = e.w.launchWith(func(o *vitalsdk.Options) { o.DeferCreate = true })
	case "initialise":
		// Example:
		//
		// initialise
		//
		// Creates the SDK client (Client.Initialize).
		err = e.c.Initialize(e.w.ctx)
	case "reinstall":
		// Example:
		//
		// reinstall [no-backup]
		//
		// Deletes and reinstalls the app (vitalsdk.Reinstall; on Android with
		// an Auto Backup restore unless no-backup), then launches.
		backup := len(d.CmdArgs) == 0 || d.CmdArgs[0].Key != "no-backup"
		require.NoError(t, vitalsdk.Reinstall(e.w.ctx, e.w.db, "phone", e.w.profile, backup))
		e.c = e.w.launch()
	case "delete":
		// Example:
		//
		// delete a
		//
		// Deletes a on the emulator.
		uid := e.user(t, d, 0)
		require.NoError(t, e.w.em.DeleteUser(uid))
		e.deleted[uid] = true
	case "revoke":
		// Example:
		//
		// revoke a
		//
		// Revokes a's refresh tokens (reauthentication_required).
		e.w.em.RevokeRefreshTokens(e.user(t, d, 0))
	case "fail-token":
		// Example:
		//
		// fail-token 503
		//
		// Makes the next token-endpoint request answer the status.
		status, convErr := strconv.Atoi(e.arg(t, d, 0))
		require.NoError(t, convErr)
		e.w.em.FailNext(e.w.refreshRoute(), 1, status)
	case "drop-token":
		// Example:
		//
		// drop-token
		//
		// Drops the connection of the next token-endpoint request.
		e.w.em.DropNext(e.w.refreshRoute(), 1)
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	if err != nil {
		fmt.Fprintf(&out, "error %s\n", errorName(t, err))
		e.w.requireNoSecrets(err.Error())
	}
	state, cerr := fsm.Classify(e.c.Status(), e.last, e.c.Profile())
	require.NoError(t, cerr, d.Pos)
	e.last = state
	fmt.Fprintf(&out, "%s %s user=%s", state, e.c.Status(), e.nameOf(e.c.CurrentUserID()))
	if n := e.w.em.Requests(emulator.RouteToken) - before; n > 0 {
		fmt.Fprintf(&out, " token-requests=%d", n)
	}
	if n := e.w.legacyRequests() - beforeLegacy; n > 0 {
		fmt.Fprintf(&out, " firebase-requests=%d", n)
	}
	out.WriteByte('\n')
	return out.String()
}

// arg returns the command's i-th positional argument.
func (e *scenarioEnv) arg(t *testing.T, d *datadriven.TestData, i int) string {
	t.Helper()
	if len(d.CmdArgs) <= i {
		d.Fatalf(t, "%s: missing argument %d", d.Cmd, i+1)
	}
	return d.CmdArgs[i].Key
}

// user returns the Vital user ID of the user named by argument i.
func (e *scenarioEnv) user(t *testing.T, d *datadriven.TestData, i int) string {
	t.Helper()
	name := e.arg(t, d, i)
	id, ok := e.users[name]
	if !ok {
		d.Fatalf(t, "unknown user %q", name)
	}
	return id
}

// tokenFor mints a token for a user; a deleted user gets the last token
// minted before the deletion (the API mints none for them).
func (e *scenarioEnv) tokenFor(id string) string {
	if !e.deleted[id] {
		e.minted[id] = e.w.token(id)
	}
	return e.minted[id]
}

// nameOf names a Vital user ID by the scenario's name for it: "-" for none,
// the name in upper case when the SDK reports the ID in upper case.
func (e *scenarioEnv) nameOf(id string) string {
	if id == "" {
		return "-"
	}
	for n, u := range e.users {
		switch id {
		case u:
			return n
		case strings.ToUpper(u):
			return strings.ToUpper(n)
		}
	}
	return "?" + id
}

func errorName(t *testing.T, err error) string {
	var names []string
	for _, e := range errorNames {
		if errors.Is(err, e.err) {
			names = append(names, e.name)
		}
	}
	require.NotEmpty(t, names, "unnamed error %v", err)
	sort.Strings(names)
	return strings.Join(names, ", ")
}
