package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
	"github.com/vitalsync/vitalsync/simulations"
)

// deviceCLI runs `vitalsync device` invocations against one database and an
// emulator over loopback HTTP.
type deviceCLI struct {
	t       *testing.T
	em      *emulator.Emulator
	srv     *httptest.Server
	team    *junction.Client
	db      string
	profile string
	secrets []string
}

func newDeviceCLI(t *testing.T, profile string) *deviceCLI {
	em := emulator.New()
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return &deviceCLI{t: t, em: em, srv: srv, team: junction.NewClient(srv.URL, em.APIKey()),
		db: filepath.Join(t.TempDir(), "device.db"), profile: profile, secrets: []string{em.APIKey()}}
}

// invoke runs one invocation and returns stdout, stderr, the exit code and
// the error run returned. No secret may reach stdout or stderr.
func (d *deviceCLI) invoke(stdin string, args ...string) (string, string, int, error) {
	d.t.Helper()
	full := append([]string{"device", "--db", d.db, "--profile", d.profile,
		"--api-url", d.srv.URL, "--auth-url", d.srv.URL + "/auth", "--legacy-auth-url", d.srv.URL}, args...)
	var out, errOut bytes.Buffer
	err := run(context.Background(), full, strings.NewReader(stdin), &out, &errOut)
	code := exitCode(err, &errOut)
	d.collectTokens()
	for _, s := range d.secrets {
		require.NotContains(d.t, out.String(), s, "a secret on stdout")
		require.NotContains(d.t, errOut.String(), s, "a secret on stderr")
	}
	return out.String(), errOut.String(), code, err
}

// run runs one invocation and returns stdout, stderr and the exit code.
func (d *deviceCLI) run(stdin string, args ...string) (string, string, int) {
	d.t.Helper()
	out, errOut, code, _ := d.invoke(stdin, args...)
	return out, errOut, code
}

// fail runs an invocation that must fail with exit code 1 and a message on
// stderr, and returns its error for errors.Is.
func (d *deviceCLI) fail(stdin string, args ...string) error {
	d.t.Helper()
	_, errOut, code, err := d.invoke(stdin, args...)
	require.Equal(d.t, 1, code, "%v: %s", args, errOut)
	require.NotEmpty(d.t, errOut)
	return err
}

func (d *deviceCLI) collectTokens() {
	db, err := sqlite.OpenDevice(context.Background(), d.db)
	require.NoError(d.t, err)
	defer db.Close()
	st, ok, err := db.LoadDevice(context.Background(), "default")
	require.NoError(d.t, err)
	if ok && st.Record != nil {
		d.secrets = append(d.secrets, st.Record.AccessToken, st.Record.RefreshToken)
	}
}

// status runs a subcommand that must succeed and decodes its status JSON.
func (d *deviceCLI) status(stdin string, args ...string) installation.DeviceStatus {
	d.t.Helper()
	out, errOut, code := d.run(stdin, args...)
	require.Equal(d.t, 0, code, "%v: %s", args, errOut)
	var s installation.DeviceStatus
	require.NoError(d.t, json.Unmarshal([]byte(out), &s), out)
	return s
}

func (d *deviceCLI) user() (string, string) {
	d.t.Helper()
	ctx := context.Background()
	k, err := d.team.CreateUser(ctx, "app-"+d.t.Name()+string(rune('a'+len(d.secrets))))
	require.NoError(d.t, err)
	tok, err := d.team.CreateSignInToken(ctx, k.UserID)
	require.NoError(d.t, err)
	d.secrets = append(d.secrets, tok.SignInToken)
	return k.UserID, tok.SignInToken
}

func TestDeviceAndroidLifecycle(t *testing.T) {
	d := newDeviceCLI(t, "android-5.0")
	s := d.status("", "status")
	require.Equal(t, installation.DeviceStatus{State: fsm.SignedOut, Status: []string{}, CurrentUserID: ""}, s)

	uid, tok := d.user()
	s = d.status("", "sign-in", tok)
	require.Equal(t, installation.DeviceStatus{State: fsm.Token, Status: []string{"configured", "signedIn", "useSignInToken"}, CurrentUserID: uid}, s)

	// Same user again: Android throws alreadySignedIn.
	require.ErrorIs(t, d.fail(tok+"\n", "sign-in", "-"), vitalsdk.ErrAlreadySignedIn)

	out, errOut, code := d.run("", "whoami")
	require.Equal(t, 0, code, errOut)
	var u junction.User
	require.NoError(t, json.Unmarshal([]byte(out), &u))
	require.Equal(t, uid, u.UserID)

	require.Equal(t, fsm.Token, d.status("", "refresh").State)

	// The user is deleted: the refresh fails, and the SDK keeps {configured}
	// with no user, which the recorded last state classifies as user-deleted.
	require.NoError(t, d.em.DeleteUser(uid))
	require.ErrorIs(t, d.fail("", "refresh"), vitalsdk.ErrInvalidUser)
	s = d.status("", "status")
	require.Equal(t, installation.DeviceStatus{State: fsm.UserDeleted, Status: []string{"configured"}, CurrentUserID: ""}, s)

	require.Equal(t, fsm.SignedOut, d.status("", "sign-out").State)
	s = d.status("", "configure", d.em.APIKey(), "sandbox", "us")
	require.Equal(t, fsm.Configured, s.State, "after sign-out, {configured} is a configuration again")
	s = d.status("", "set-user", "user-7")
	require.Equal(t, installation.DeviceStatus{State: fsm.APIKey, Status: []string{"configured", "signedIn", "useApiKey"}, CurrentUserID: "user-7"}, s)
}

func TestDeviceIOS18(t *testing.T) {
	d := newDeviceCLI(t, "ios-1.8")
	uid, tok := d.user()
	// The deprecated sign-in: {configured} until the next launch.
	s := d.status(tok, "sign-in", "-")
	require.Equal(t, installation.DeviceStatus{State: fsm.Configured, Status: []string{"configured"}, CurrentUserID: ""}, s)
	s = d.status("", "status")
	require.Equal(t, installation.DeviceStatus{State: fsm.Token, Status: []string{"configured", "signedIn", "useSignInToken"}, CurrentUserID: strings.ToUpper(uid)}, s)
	// Same user: a no-op.
	require.Equal(t, fsm.Token, d.status("", "sign-in", tok).State)

	// Configure is in memory only.
	require.Equal(t, fsm.SignedOut, d.status("", "sign-out").State)
	require.Equal(t, fsm.Configured, d.status(d.em.APIKey(), "configure", "--api-key", "-", "--environment", "sandbox", "--region", "us").State)
	require.Equal(t, fsm.SignedOut, d.status("", "status").State)
	require.ErrorIs(t, d.fail("", "set-user", uid), vitalsdk.ErrNotConfigured)
}

func TestDeviceIdentify(t *testing.T) {
	d := newDeviceCLI(t, "android-5.0")
	uid, tok := d.user()
	s := d.status(tok, "identify", "app-a", "--sign-in-token", "-")
	require.Equal(t, installation.DeviceStatus{State: fsm.Token, Status: []string{"configured", "signedIn", "useSignInToken"}, CurrentUserID: uid}, s)
	// The same external ID short-circuits: no request at all.
	requests := d.em.TotalRequests()
	require.Equal(t, fsm.Token, d.status("", "identify", "app-a", "--sign-in-token", "unused").State)
	require.Equal(t, requests, d.em.TotalRequests())

	// API-key mode as another user: Android signs out, and its sign-out
	// clears the strategy too.
	other, _ := d.user()
	s = d.status(d.em.APIKey(), "identify", "app-b", "--api-key", "-", "--user", other, "--environment", "sandbox", "--region", "us")
	require.Equal(t, fsm.SignedOut, s.State)

	d = newDeviceCLI(t, "ios-1.3")
	require.ErrorIs(t, d.fail("", "identify", "app-a", "--sign-in-token", tok), vitalsdk.ErrUnsupported)
	for _, args := range [][]string{
		{"identify"},
		{"identify", "--sign-in-token", "t"},
		{"identify", "app-a"},
		{"identify", "app-a", "--sign-in-token", "t", "--api-key", "k"},
		{"identify", "app-a", "--api-key", "k", "--user", "u", "--environment", "staging", "--region", "us"},
		{"identify", "app-a", "--api-key", "k", "--user", "u", "--environment", "sandbox", "--region", "ap"},
		{"identify", "app-a", "--sign-in-token", "t", "extra"},
	} {
		_, _, code := d.run("", args...)
		require.Equal(t, 2, code, "%v", args)
	}
	// A misplaced secret is not echoed in the usage error.
	d.secrets = append(d.secrets, "sk_us_misplaced")
	_, _, code := d.run("", "identify", "app-a", "--sign-in-token", "-", "sk_us_misplaced")
	require.Equal(t, 2, code)
}

func TestDeviceUsage(t *testing.T) {
	d := newDeviceCLI(t, "android-5.0")
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"status", "extra"},
		{"set-user"},
		{"sign-in"},
		{"configure"},
		{"configure", "k", "sandbox"},
		{"configure", "k", "staging", "us"},
		{"configure", "k", "sandbox", "ap"},
		{"configure", "--api-key", "k", "--environment", "sandbox", "--region", "us", "k", "sandbox", "us"},
		{"--bogus-flag", "status"},
	} {
		_, _, code := d.run("", args...)
		require.Equal(t, 2, code, "%v", args)
	}
	_, _, code := d.run("", "sign-in", "-") // empty stdin
	require.Equal(t, 2, code)

	var out, errOut bytes.Buffer
	code = exitCode(run(context.Background(), []string{"device", "--profile", "android-5.0", "status"}, strings.NewReader(""), &out, &errOut), &errOut)
	require.Equal(t, 2, code, "no --db")
	code = exitCode(run(context.Background(), []string{"device", "--db", d.db, "--profile", "ios-9", "status"}, strings.NewReader(""), &out, &errOut), &errOut)
	require.Equal(t, 2, code, "unknown profile")
	code = exitCode(run(context.Background(), []string{"device", "--help"}, strings.NewReader(""), &out, &errOut), &errOut)
	require.Equal(t, 0, code)

	// Failures are exit 1 with a message and no secret.
	d.secrets = append(d.secrets, "garbage-token")
	require.ErrorIs(t, d.fail("", "sign-in", "garbage-token"), vitalsdk.ErrMalformedSignInToken)
	require.ErrorIs(t, d.fail("", "refresh"), vitalsdk.ErrNotConfigured)
	require.ErrorIs(t, d.fail("", "whoami"), vitalsdk.ErrNotConfigured)
}

// device never falls back to the real Junction hosts: the first command
// needs the URLs, later ones use the remembered ones, and other ones are
// refused unless --allow-url-change.
func TestDeviceRemembersBaseURLs(t *testing.T) {
	d := newDeviceCLI(t, "android-5.0")
	bare := func(args ...string) (string, int, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"device", "--db", d.db, "--profile", d.profile}, args...),
			strings.NewReader(""), &out, &errOut)
		code := exitCode(err, &errOut)
		return errOut.String(), code, err
	}
	stderr, code, err := bare("status")
	require.Equal(t, 2, code)
	require.ErrorIs(t, err, sqlite.ErrNoEndpoints)
	require.Contains(t, stderr, "--api-url")

	uid, tok := d.user()
	require.Equal(t, fsm.Token, d.status(tok, "sign-in", "-").State) // remembers the emulator's URLs

	// No flags: whoami reaches the emulator through the remembered URLs.
	before := d.em.TotalRequests()
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"device", "--db", d.db, "--profile", d.profile, "whoami"}, strings.NewReader(""), &out, &errOut)
	require.NoError(t, err, errOut.String())
	require.Contains(t, out.String(), uid)
	require.Greater(t, d.em.TotalRequests(), before)

	_, code, err = bare("--api-url", "https://api.sandbox.us.junction.com", "--auth-url", "https://auth.sandbox.us.junction.com", "status")
	require.Equal(t, 2, code)
	require.ErrorIs(t, err, sqlite.ErrEndpointsChanged)
	_, code, _ = bare("--api-url", "https:/nohost", "status")
	require.Equal(t, 2, code)
	_, code, err = bare("--api-url", "http://127.0.0.1:1", "--auth-url", "http://127.0.0.1:1/auth", "--allow-url-change", "status")
	require.Zero(t, code, err)
	_, code, _ = bare("status")
	require.Zero(t, code)
	_, code, err = bare("whoami")
	require.Equal(t, 1, code, "now pointed at a closed port: %v", err)
}

// TestDeviceLegacyProfile: on a legacy profile the device signs in,
// refreshes and detects deletion through the emulator's legacy Firebase
// routes, given as --legacy-auth-url (reference §10.3).
func TestDeviceLegacyProfile(t *testing.T) {
	d := newDeviceCLI(t, "android-4.2.0")
	uid, tok := d.user()
	s := d.status(tok+"\n", "sign-in", "-")
	require.Equal(t, installation.DeviceStatus{State: fsm.Token, Status: []string{"configured", "signedIn", "useSignInToken"}, CurrentUserID: uid}, s)
	require.Equal(t, fsm.Token, d.status("", "refresh").State)
	require.NoError(t, d.em.DeleteUser(uid))
	require.ErrorIs(t, d.fail("", "refresh"), vitalsdk.ErrInvalidUser)
	require.Equal(t, fsm.SignedOut, d.status("", "status").State, "Android 4.2.0 signs out on deletion")
	require.Zero(t, d.em.Requests(emulator.RouteToken))
	require.Equal(t, 1, d.em.Requests(emulator.RouteLegacySignIn))
	require.Equal(t, 2, d.em.Requests(emulator.RouteLegacyRefresh))
}

// TestDeviceReinstall: 'device reinstall' per platform (reference §10.5).
func TestDeviceReinstall(t *testing.T) {
	for _, tc := range []struct {
		profile string
		args    []string
		want    fsm.State
	}{
		{"ios-1.3", nil, fsm.Token},
		{"ios-1.8", nil, fsm.SignedOut},
		{"android-5.0", nil, fsm.Token},
		{"android-5.0", []string{"--no-backup"}, fsm.SignedOut},
	} {
		t.Run(tc.profile+strings.Join(tc.args, ""), func(t *testing.T) {
			d := newDeviceCLI(t, tc.profile)
			_, tok := d.user()
			require.Equal(t, 0, exitCodeOf(d, tok, "sign-in", "-"))
			require.Equal(t, tc.want, d.status("", append([]string{"reinstall"}, tc.args...)...).State)
		})
	}
	d := newDeviceCLI(t, "android-5.0")
	_, _, code := d.run("", "reinstall", "extra")
	require.Equal(t, 2, code, "a usage error")
}

func exitCodeOf(d *deviceCLI, stdin string, args ...string) int {
	d.t.Helper()
	_, _, code := d.run(stdin, args...)
	return code
}

// A person drives the iOS 1.8 path by hand: the backend revokes the refresh
// tokens, 'device refresh' meets needsReauthentication (the status still
// reads as signed in) and records it, and the next launch reauthenticates.
func TestDeviceRefreshReportsReauthenticationToTheLaunch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := simulations.NewDemoStack(ctx, dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	path := filepath.Join(dir, "device.db")
	db, err := sqlite.OpenDevice(ctx, path, sqlite.WithClock(s.Clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p, _ := fsm.ParseProfile("ios-1.8")
	cfg, err := s.AppConfig(db, p, "phone", "alice", "", s.APIURL)
	require.NoError(t, err)
	launch := func() installation.LaunchRecord {
		rep, err := installation.RecordLaunch(ctx, cfg)
		require.NoError(t, err)
		require.NoError(t, reconcile.Outcome{Passes: rep.Passes}.CheckApplied())
		return rep
	}
	launch()
	j, err := db.Journal("phone", p.Name).Load(ctx)
	require.NoError(t, err)
	s.Emulator.RevokeRefreshTokens(j.VitalUserID)

	// The device command reaches the same emulator over loopback HTTP.
	srv := httptest.NewServer(issuer.Mount(s.Issuer, nil, s.Emulator))
	t.Cleanup(srv.Close)
	dev := []string{"device", "--db", path, "--profile", "ios-1.8", "--installation", "phone",
		"--api-url", srv.URL, "--auth-url", srv.URL + "/auth"}
	var out, errOut bytes.Buffer
	err = run(ctx, append(dev, "refresh"), strings.NewReader(""), &out, &errOut)
	require.ErrorIs(t, err, vitalsdk.ErrNeedsReauthentication)
	j, err = db.Journal("phone", p.Name).Load(ctx)
	require.NoError(t, err)
	require.Equal(t, reconcile.ErrNeedsReauthentication, j.LastError)

	rep := launch()
	require.Len(t, rep.Outcome.Applied, 1)
	require.True(t, strings.HasPrefix(rep.Outcome.Applied[0], "reauthenticate("), "%v", rep.Outcome.Applied)
	out.Reset()
	require.NoError(t, run(ctx, append(dev, "refresh"), strings.NewReader(""), &out, &errOut),
		"the session refreshes again: %s", &errOut)
}
