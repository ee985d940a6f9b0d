package emulatortest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

func TestSigningKeysAreFixedAndDistinct(t *testing.T) {
	k, o := emulatortest.SigningKey(), emulatortest.OtherKey()
	require.Same(t, k, emulatortest.SigningKey(), "one key per process, parsed once")
	require.Equal(t, emulator.KeyBits, k.N.BitLen())
	require.Equal(t, emulator.KeyBits, o.N.BitLen())
	require.False(t, k.PublicKey.Equal(&o.PublicKey))
	require.NoError(t, k.Validate())
	require.NoError(t, o.Validate())

	em := emulatortest.NewEmulator()
	require.True(t, em.PublicKey().Equal(&k.PublicKey), "NewEmulator signs with SigningKey")
	em = emulatortest.NewEmulator(emulator.WithSigningKey(o))
	require.True(t, em.PublicKey().Equal(&o.PublicKey), "an explicit key in opts wins")
}

func TestSignInTokensVerifyWithTheFixedKey(t *testing.T) {
	s := emulatortest.NewStack()
	_, tok := s.SignedUpUser(t, "alice")
	require.NoError(t, junction.VerifySignInToken(tok, &emulatortest.SigningKey().PublicKey))
	require.Error(t, junction.VerifySignInToken(tok, &emulatortest.OtherKey().PublicKey))
}

func TestStackServesTheEmulatorThroughTheTransport(t *testing.T) {
	s := emulatortest.NewStack()
	ctx := context.Background()
	k, tok := s.SignedUpUser(t, "alice")
	u, err := s.Team.GetUser(ctx, k.UserID)
	require.NoError(t, err)
	require.True(t, u.CreatedOn.Equal(emulatortest.Epoch), "the emulator reads the stack's clock: %v", u.CreatedOn)

	// The auth host serves the token endpoint; the clock drives expiry.
	auth := junction.NewAuthClient(s.AuthURL, s.JunctionOptions()...)
	tr, err := auth.Exchange(ctx, tok.UserToken)
	require.NoError(t, err)
	me := junction.NewUserClient(s.APIURL, s.JunctionOptions()...)
	_, err = me.GetUser(ctx, tr.AccessToken, k.UserID)
	require.NoError(t, err)
	s.Clock.Advance(emulator.DefaultAccessTTL + time.Second)
	_, err = me.GetUser(ctx, tr.AccessToken, k.UserID)
	require.ErrorIs(t, err, junction.ErrUnauthorized, "the access token expired on the virtual clock")
	require.Equal(t, 3, s.Emulator.Requests(emulator.RouteGetUser))
	require.Equal(t, 1, s.Emulator.Requests(emulator.RouteToken))
}

func TestUserIDsOfReadsEveryPage(t *testing.T) {
	s := emulatortest.NewStack()
	ctx := context.Background()
	ids := make([]string, 205)
	for i := range ids {
		k, err := s.Team.CreateUser(ctx, fmt.Sprintf("user-%03d", i))
		require.NoError(t, err)
		ids[i] = k.UserID
	}
	for _, i := range []int{3, 99, 100, 204} {
		require.NoError(t, s.Team.DeleteUser(ctx, ids[i]))
	}
	require.Len(t, emulatortest.UserIDsOf(t, s.Team, ""), 201, "every page, deleted users left out")
	require.Equal(t, []string{ids[150]}, emulatortest.UserIDsOf(t, s.Team, "user-150"), "the third page")
	require.Empty(t, emulatortest.UserIDsOf(t, s.Team, "user-099"), "deleted")
	require.Empty(t, emulatortest.UserIDsOf(t, s.Team, "nobody"))
}

func TestTransportFaultKnobs(t *testing.T) {
	ctx := context.Background()
	s := emulatortest.NewStack()

	s.Emulator.FailNext(emulator.RouteCreateUser, 1, http.StatusServiceUnavailable)
	_, err := s.Team.CreateUser(ctx, "alice")
	var ae *junction.APIError
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, junction.ErrServer)
	require.Equal(t, http.StatusServiceUnavailable, ae.Status)

	s.Emulator.RateLimitNext(emulator.RouteCreateUser, 1, 3*time.Second)
	_, err = s.Team.CreateUser(ctx, "alice")
	require.ErrorIs(t, err, junction.ErrRateLimited)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 3*time.Second, ae.RetryAfter)

	// A dropped connection is a transport error, and changes nothing.
	s.Emulator.DropNext(emulator.RouteCreateUser, 1)
	_, err = s.Team.CreateUser(ctx, "alice")
	require.ErrorIs(t, err, junction.ErrTransport)
	require.ErrorIs(t, err, emulatortest.ErrConnectionDropped)
	require.True(t, ae.Transient())

	_, err = s.Team.CreateUser(ctx, "alice")
	require.NoError(t, err, "no injected fault created alice")
	require.Equal(t, 4, s.Emulator.Requests(emulator.RouteCreateUser))
}

func TestTransportDelayNextWaitsOnTheVirtualClock(t *testing.T) {
	s := emulatortest.NewStack()
	s.Emulator.DelayNext(emulator.RouteListUsers, 1, time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := s.Team.ListUsers(context.Background(), 0, 10)
		done <- err
	}()
	waitFor(t, func() bool { return s.Clock.Waiters() == 1 })
	s.Clock.Advance(59 * time.Minute)
	select {
	case err := <-done:
		t.Fatalf("answered before the delay ended: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	s.Clock.Advance(time.Minute)
	require.NoError(t, <-done)
}

func TestTransportDelayNextAbandonedOnCancel(t *testing.T) {
	s := emulatortest.NewStack()
	s.Emulator.DelayNext(emulator.RouteCreateUser, 1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Team.CreateUser(ctx, "alice")
		done <- err
	}()
	waitFor(t, func() bool { return s.Clock.Waiters() == 1 })
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	// The abandoned request created nothing.
	_, err = s.Team.CreateUser(context.Background(), "alice")
	require.NoError(t, err)
}

// waitFor polls cond for up to 10 s: long enough for a loaded machine, short
// enough that a regression fails instead of hanging.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTransportConcurrentUse(t *testing.T) {
	s := emulatortest.NewStack()
	ctx := context.Background()
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if i%4 == 0 {
				// Hosts may be added while requests are in flight.
				s.Mount(fmt.Sprintf("h%d.test", i), http.NotFoundHandler())
			}
			k, err := s.Team.CreateUser(ctx, fmt.Sprintf("user-%d", i))
			if err == nil {
				_, err = s.Team.GetUser(ctx, k.UserID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, n, s.Emulator.Requests(emulator.RouteCreateUser))
	p, err := s.Team.ListUsers(ctx, 0, 100)
	require.NoError(t, err)
	require.Equal(t, n, p.Total)
}

// recordingTB records failures instead of failing the test running it.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestSecrets(t *testing.T) {
	s := &emulatortest.Secrets{}
	s.Add("", "sk_secret_0123456789abcdef", "tok_abcdefghijklmnop", "sk_secret_0123456789abcdef")
	require.Equal(t, []string{"sk_secret_0123456789abcdef", "tok_abcdefghijklmnop"}, s.List(), "empties and repeats are dropped")

	rec := &recordingTB{TB: t}
	require.True(t, s.Check(rec, "logs", "level=INFO msg=ok user=alice"))
	require.True(t, s.CheckErr(rec, nil))
	require.Empty(t, rec.errors)

	require.False(t, s.Check(rec, "logs", "msg=leak token=tok_abcdefghijklmnop"))
	require.False(t, s.CheckErr(rec, errors.New("bad key sk_secret_0123456789abcdef")))
	require.Len(t, rec.errors, 2)
	require.Contains(t, rec.errors[0], "logs")
	require.Contains(t, rec.errors[1], "error")
	for _, e := range rec.errors {
		for _, sec := range s.List() {
			require.NotContains(t, e, sec, "the failure message does not repeat the secret")
		}
	}

	// Fragments catch a truncated echo, which whole-secret checks miss.
	truncated := "key sk_secret_0123…"
	require.Equal(t, -1, s.Find(truncated))
	s.Fragment = 12
	require.Equal(t, 0, s.Find(truncated))
	require.Equal(t, 1, s.Find("…ghijklmnop"[:0]+"tok_abcdefgh"))
	require.Equal(t, -1, s.Find("tok_abc"))
}

func TestSecretsCheckAtEnd(t *testing.T) {
	s := &emulatortest.Secrets{}
	logs := &emulatortest.LockedBuffer{}
	var inner *recordingTB
	t.Run("leaky", func(t *testing.T) {
		inner = &recordingTB{TB: t}
		s.CheckAtEnd(inner, "logs", logs.String)
		logs.Logger(slog.LevelInfo).Info("exchange", "token", "at_0123456789abcdef")
		s.Add("at_0123456789abcdef") // added after the log line: still caught
	})
	require.Len(t, inner.errors, 1)
	require.Contains(t, inner.errors[0], "leaked into logs")
}

func TestLockedBufferConcurrentWriters(t *testing.T) {
	b := &emulatortest.LockedBuffer{}
	log := b.Logger(slog.LevelDebug)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				log.Debug("line", "w", i, "j", j)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 16*50)
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "time="), "a torn line: %q", l)
	}
	require.Equal(t, len(b.String()), b.Len())
	b.Reset()
	require.Zero(t, b.Len())
	require.Empty(t, b.String())

	info := b.Logger(slog.LevelInfo)
	info.Debug("hidden")
	require.Empty(t, b.String(), "records below the level are dropped")
}
