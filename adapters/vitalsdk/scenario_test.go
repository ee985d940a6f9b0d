package vitalsdk_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the scenario transcripts in testdata/scenarios")

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
	{junction.ErrServer, "server error"},
	{junction.ErrTransport, "transport error"},
	{junction.ErrUnauthorized, "unauthorized"},
}

// TestScenarios replays testdata/scenarios/*.txt against the emulator. Each
// file starts with "profile P"; every other line is a command, and the
// transcript (*.golden, regenerated with -rewrite) shows after each command
// its outcome, the status, the classified state, the current user (by the
// scenario's name for it, in upper case when the SDK reports it so) and the
// number of token-endpoint requests it made.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			require.NoError(t, err)
			got := runScenario(t, string(in))
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *rewrite {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -rewrite to create it")
			require.Equal(t, string(want), got)
		})
	}
}

func runScenario(t *testing.T, script string) string {
	lines := strings.Split(strings.TrimSpace(script), "\n")
	first := strings.Fields(lines[0])
	require.True(t, len(first) == 2 && first[0] == "profile", "a scenario starts with: profile P")
	w := newWorld(t, first[1])
	c := w.launch()
	users := map[string]string{} // name → Vital user ID
	nameOf := func(id string) string {
		if id == "" {
			return "-"
		}
		for n, u := range users {
			switch id {
			case u:
				return n
			case strings.ToUpper(u):
				return strings.ToUpper(n)
			}
		}
		return "?" + id
	}
	// tokenFor mints a token for a user; a deleted user gets the last token
	// minted before the deletion (the API mints none for them).
	minted, deleted := map[string]string{}, map[string]bool{}
	tokenFor := func(id string) string {
		if !deleted[id] {
			minted[id] = w.token(id)
		}
		return minted[id]
	}
	last := fsm.State("")
	var out strings.Builder
	fmt.Fprintf(&out, "profile %s\n", first[1])
	for _, line := range lines[1:] {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			fmt.Fprintln(&out, line)
			continue
		}
		args := strings.Fields(line)
		user := func(i int) string {
			require.Greater(t, len(args), i, line)
			id, ok := users[args[i]]
			require.True(t, ok, "unknown user %q", args[i])
			return id
		}
		before := w.em.Requests(emulator.RouteToken)
		var err error
		switch args[0] {
		case "user":
			users[args[1]] = w.newUser()
		case "launch":
			c = w.reopen()
		case "configure":
			err = c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US)
		case "set-user":
			err = c.SetUserID(w.ctx, user(1))
		case "sign-in":
			err = c.SignIn(w.ctx, tokenFor(user(1)))
		case "identify":
			require.Len(t, args, 4, "identify EXT token|api-key USER")
			var auth vitalsdk.Authenticate = vitalsdk.SignInTokenAuth{Token: tokenFor(user(3))}
			if args[2] == "api-key" {
				auth = vitalsdk.APIKeyAuth{Key: w.em.APIKey(), UserID: user(3), Environment: fsm.Sandbox, Region: fsm.US}
			}
			err = c.IdentifyExternalUser(w.ctx, args[1], auth)
		case "sign-out":
			err = c.SignOut(w.ctx)
		case "refresh":
			err = c.Refresh(w.ctx)
		case "access-token":
			_, err = c.AccessToken(w.ctx)
		case "whoami":
			var u junction.User
			if u, err = c.GetOwnUser(w.ctx); err == nil {
				fmt.Fprintf(&out, "%s\n  user %s\n", line, nameOf(u.UserID))
				line = ""
			}
		case "expire":
			w.expire()
		case "delete":
			require.NoError(t, w.em.DeleteUser(user(1)))
			deleted[user(1)] = true
		case "revoke":
			w.em.RevokeRefreshTokens(user(1))
		case "fail-token":
			status, convErr := strconv.Atoi(args[1])
			require.NoError(t, convErr)
			w.em.FailNext(emulator.RouteToken, 1, status)
		case "drop-token":
			w.em.DropNext(emulator.RouteToken, 1)
		default:
			t.Fatalf("unknown command %q", line)
		}
		if line != "" {
			fmt.Fprintln(&out, line)
		}
		if err != nil {
			fmt.Fprintf(&out, "  error %s\n", errorName(t, err))
			w.requireNoSecrets(err.Error())
		}
		state, cerr := fsm.Classify(c.Status(), last, c.Profile())
		require.NoError(t, cerr, line)
		last = state
		fmt.Fprintf(&out, "  %s %s user=%s", state, c.Status(), nameOf(c.CurrentUserID()))
		if n := w.em.Requests(emulator.RouteToken) - before; n > 0 {
			fmt.Fprintf(&out, " token-requests=%d", n)
		}
		fmt.Fprintln(&out)
	}
	return out.String()
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
