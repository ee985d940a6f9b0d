//go:build unix

package vitalsdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// The crash test re-executes the test binary as a child process that runs a
// scenario (sign-in, refresh, switch user, sign-out, then a deprecated
// sign-in and a relaunch, which on iOS 1.4+ writes startup params) against
// the parent's emulator and kills itself with SIGKILL at the n-th hook point:
// before and after every network call and every persist. The parent then
// relaunches on the file and checks that it holds a valid state.
const (
	envCrashChild   = "VITALSDK_CRASH_CHILD"
	envCrashAt      = "VITALSDK_CRASH_AT" // hook index to die at; "" records the trace
	envCrashTrace   = "VITALSDK_CRASH_TRACE"
	envCrashDB      = "VITALSDK_CRASH_DB"
	envCrashServer  = "VITALSDK_CRASH_SERVER"
	envCrashProfile = "VITALSDK_CRASH_PROFILE"
	envCrashTokens  = "VITALSDK_CRASH_TOKENS" // three sign-in tokens, comma-separated
)

// TestCrashChild is the child's body; it does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("runs only as the crash test's child process")
	}
	ctx := context.Background()
	p, ok := fsm.ParseProfile(os.Getenv(envCrashProfile))
	require.True(t, ok)
	tokens := strings.Split(os.Getenv(envCrashTokens), ",")
	require.Len(t, tokens, 3)
	db, err := sqlite.OpenDevice(ctx, os.Getenv(envCrashDB))
	require.NoError(t, err)
	srv := os.Getenv(envCrashServer)

	dieAt := -1
	if s := os.Getenv(envCrashAt); s != "" {
		dieAt, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	trace, err := os.OpenFile(os.Getenv(envCrashTrace), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	var mu sync.Mutex
	n := 0
	hook := func(step string) {
		if step == "refresh:wait" {
			return // not a persist or network point, and concurrent with the refresh's
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(trace, step) // unbuffered: survives the kill
		if n == dieAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		n++
	}
	opts := vitalsdk.WithCrashAt(vitalsdk.Options{Profile: p, Installation: "phone", Store: db, APIBaseURL: srv, AuthBaseURL: srv + "/auth", LegacyAuthBaseURL: srv}, hook)
	c, err := vitalsdk.New(ctx, opts)
	require.NoError(t, err)

	if p.HasIdentify {
		require.NoError(t, c.IdentifyExternalUser(ctx, "app-a", vitalsdk.SignInTokenAuth{Token: tokens[0]}))
		require.NoError(t, c.Refresh(ctx))
		require.NoError(t, c.IdentifyExternalUser(ctx, "app-b", vitalsdk.SignInTokenAuth{Token: tokens[1]}))
	} else {
		// Flutter on iOS: the deprecated signIn's session shows, and the
		// public refreshToken works, only after a relaunch (§1.2, §10.2).
		relaunch := func() {
			if p.SignInNeedsRelaunch {
				c, err = vitalsdk.New(ctx, opts)
				require.NoError(t, err)
			}
		}
		require.NoError(t, c.SignIn(ctx, tokens[0]))
		relaunch()
		require.NoError(t, c.Refresh(ctx))
		require.NoError(t, c.SignOut(ctx))
		require.NoError(t, c.SignIn(ctx, tokens[1]))
		relaunch()
	}
	require.NoError(t, c.Refresh(ctx))
	require.NoError(t, c.SignOut(ctx))

	require.NoError(t, c.SignIn(ctx, tokens[2]))
	c, err = vitalsdk.New(ctx, opts) // a relaunch
	require.NoError(t, err)
	require.NoError(t, c.SignOut(ctx))
}

// childTimeout bounds one child run; a healthy one takes well under a
// second. A child that hangs is a failure, never mistaken for a crash.
const childTimeout = time.Minute

// runCrashChild runs the child scenario on a fresh database and returns the
// steps it passed and whether it was killed (by its own SIGKILL).
func runCrashChild(t *testing.T, w *world, dbPath string, at int) (steps []string, killed bool) {
	t.Helper()
	trace := dbPath + ".trace"
	tokens := strings.Join([]string{w.token(w.newUser()), w.token(w.newUser()), w.token(w.newUser())}, ",")
	ctx, cancel := context.WithTimeout(t.Context(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	// The child's settings replace any inherited ones.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VITALSDK_CRASH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		envCrashChild+"=1",
		envCrashTrace+"="+trace,
		envCrashDB+"="+dbPath,
		envCrashServer+"="+w.apiURL,
		envCrashProfile+"="+w.profile.Name,
		envCrashTokens+"="+tokens,
	)
	if at >= 0 {
		cmd.Env = append(cmd.Env, envCrashAt+"="+strconv.Itoa(at))
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the child did not finish in %v:\n%s", childTimeout, out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		ws, ok := exit.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child failed: %v\n%s", err, out)
		killed = true
	} else {
		require.NoError(t, err, "%s", out)
	}
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_")), killed
}

func TestCrashAtEveryStepLeavesAValidState(t *testing.T) {
	if os.Getenv(envCrashChild) == "1" {
		t.Skip("not in the child")
	}
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			t.Parallel() // each profile has its own emulator and files
			// The child process needs a real server.
			w := newLoopbackWorld(t, p)
			dir := t.TempDir()
			steps, killed := runCrashChild(t, w, filepath.Join(dir, "record.db"), -1)
			require.False(t, killed)
			require.Contains(t, steps, "refresh:after-persist")
			require.Contains(t, steps, "refresh:before-network")
			if !w.profile.ConfigurePersists {
				require.Contains(t, steps, "launch:after-persist", "the relaunch writes startup params")
			}
			for i, step := range steps {
				path := filepath.Join(dir, fmt.Sprintf("crash-%02d.db", i))
				got, killed := runCrashChild(t, w, path, i)
				require.True(t, killed, "step %d %s", i, step)
				require.GreaterOrEqual(t, len(got), i+1, "the child died before step %d %s", i, step)
				require.Equal(t, steps[:i+1], got[:i+1], "the child died at step %d %s", i, step)
				requireValidAfterCrash(t, w, path, step)
			}
		})
	}
}

// requireValidAfterCrash relaunches on the crashed file and checks that it
// holds a valid state of the machine, never token mode without tokens, and
// that the device can go on (sign out).
func requireValidAfterCrash(t *testing.T, w *world, path, step string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenDevice(ctx, path)
	require.NoError(t, err, step)
	defer db.Close()
	st, found, err := db.LoadDevice(ctx, "phone")
	require.NoError(t, err, step)
	c, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: w.profile, Installation: "phone", Store: db,
		APIBaseURL: w.apiURL, AuthBaseURL: w.authURL, LegacyAuthBaseURL: w.apiURL, HTTPClient: w.hc})
	require.NoError(t, err, step)
	status := c.Status()
	state, err := fsm.Classify(status, "", w.profile)
	require.NoError(t, err, "crash at %s: status %s", step, status)
	if status.Has(fsm.FlagUseSignInToken) {
		require.True(t, found, step)
		require.NotNil(t, st.Record, "token mode without tokens after a crash at %s", step)
		require.NotEmpty(t, st.Record.AccessToken, step)
		require.NotEmpty(t, st.Record.RefreshToken, step)
		_, err := c.AccessToken(ctx)
		require.NoError(t, err, "crash at %s", step)
	}
	if state.SignedIn() {
		require.NotEmpty(t, c.CurrentUserID(), step)
	}
	require.NoError(t, c.SignOut(ctx), step)
	require.Equal(t, fsm.Status(0), c.Status())
}
