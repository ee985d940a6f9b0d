package emulatortest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/adapters/junction"
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
	ctx := context.Background()
	k, err := s.Team.CreateUser(ctx, "alice")
	require.NoError(t, err)
	st, err := s.Team.CreateSignInToken(ctx, k.UserID)
	require.NoError(t, err)
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(t, err)
	require.NoError(t, junction.VerifySignInToken(tok, &emulatortest.SigningKey().PublicKey))
	require.Error(t, junction.VerifySignInToken(tok, &emulatortest.OtherKey().PublicKey))
}

func TestClock(t *testing.T) {
	var zero emulatortest.Clock
	require.Equal(t, emulatortest.Epoch, zero.Now(), "the zero clock reads Epoch")
	require.Equal(t, emulatortest.Epoch.Add(time.Minute), zero.Advance(time.Minute))
	require.Equal(t, emulatortest.Epoch.Add(time.Minute), zero.Now(), "time stands still between moves")

	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	c := emulatortest.NewClock(start)
	require.Equal(t, start.UTC(), c.Now())
	require.Equal(t, time.UTC, c.Now().Location())
	c.Set(start.Add(-time.Hour))
	require.Equal(t, start.Add(-time.Hour).UTC(), c.Now(), "Set may go backwards")
	require.Panics(t, func() { c.Advance(-time.Nanosecond) })
}

func TestClockAfterFiresOnVirtualTime(t *testing.T) {
	c := &emulatortest.Clock{}
	now := c.After(0)
	require.Equal(t, emulatortest.Epoch, <-now, "a zero wait fires at once")

	a := c.After(10 * time.Second)
	b := c.After(time.Minute)
	require.Equal(t, 2, c.Waiters())
	c.Advance(9 * time.Second)
	requireNotReady(t, a)
	at := c.Advance(time.Second)
	require.Equal(t, at, <-a, "fires at its deadline with the reading")
	requireNotReady(t, b)
	require.Equal(t, 1, c.Waiters())
	c.Set(emulatortest.Epoch.Add(time.Hour))
	require.Equal(t, emulatortest.Epoch.Add(time.Hour), <-b, "Set fires what it passes")
	require.Zero(t, c.Waiters())
}

func requireNotReady(t *testing.T, ch <-chan time.Time) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("fired early, at %v", v)
	default:
	}
}

func TestClockConcurrentUse(t *testing.T) {
	c := &emulatortest.Clock{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				ch := c.After(time.Second)
				c.Advance(time.Second)
				<-ch // the clock has moved past it: it fired
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	require.Equal(t, emulatortest.Epoch.Add(800*time.Second), c.Now())
	require.Zero(t, c.Waiters())
}

func TestStackServesTheEmulatorThroughTheTransport(t *testing.T) {
	s := emulatortest.NewStack()
	ctx := context.Background()
	k, err := s.Team.CreateUser(ctx, "alice")
	require.NoError(t, err)
	u, err := s.Team.GetUser(ctx, k.UserID)
	require.NoError(t, err)
	require.True(t, u.CreatedOn.Equal(emulatortest.Epoch), "the emulator reads the stack's clock: %v", u.CreatedOn)

	// The auth host serves the token endpoint; the clock drives expiry.
	st, err := s.Team.CreateSignInToken(ctx, k.UserID)
	require.NoError(t, err)
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(t, err)
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

func TestTransportUnknownHost(t *testing.T) {
	tr := emulatortest.NewTransport(map[string]http.Handler{"a.test": http.NotFoundHandler()})
	resp, err := tr.Client().Get("http://b.test/x")
	if resp != nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, emulatortest.ErrUnknownHost)

	// Hosts match without regard to case; ports are part of the host.
	resp, err = tr.Client().Get("http://A.TEST/x")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, err = tr.Client().Get("http://a.test:8080/x")
	require.ErrorIs(t, err, emulatortest.ErrUnknownHost)
	require.Panics(t, func() { tr.Handle("", http.NotFoundHandler()) })
	require.Panics(t, func() { tr.Handle("c.test", nil) })
}

func TestTransportRequestAndResponse(t *testing.T) {
	var got *http.Request
	var gotBody string
	tr := &emulatortest.Transport{}
	base := tr.Handle("svc.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Late", "ignored") // after the header went out
		io.WriteString(w, "hello")
	}))
	require.Equal(t, "http://svc.test", base)
	req, err := http.NewRequest("POST", base+"/a%2Fb/c?x=1&y=2", strings.NewReader("ping"))
	require.NoError(t, err)
	req.Header.Set("X-Key", "v")
	req.Header["x-lower-case"] = []string{"w"} // sent as is, parsed canonical
	resp, err := tr.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, "POST", got.Method)
	require.Equal(t, "/a%2Fb/c", got.URL.EscapedPath(), "the escaped path reaches the handler as sent")
	require.Equal(t, "/a%2Fb/c?x=1&y=2", got.RequestURI)
	require.Equal(t, "1", got.URL.Query().Get("x"))
	require.Equal(t, "svc.test", got.Host)
	require.Equal(t, "v", got.Header.Get("X-Key"))
	require.Equal(t, "w", got.Header.Get("X-Lower-Case"))
	require.NotEmpty(t, got.RemoteAddr)
	require.Equal(t, "ping", gotBody)

	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "201 Created", resp.Status)
	require.Equal(t, int64(5), resp.ContentLength)
	require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	require.Empty(t, resp.Header.Get("X-Late"))
	require.Equal(t, "hello", string(b))
	require.Same(t, req, resp.Request)

	// A handler that writes nothing answers 200 with an empty body.
	tr.Handle("empty.test", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	resp, err = tr.Client().Get("http://empty.test/")
	require.NoError(t, err)
	b, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, b)
}

func TestTransportStreamsTheBody(t *testing.T) {
	release := make(chan struct{})
	tr := emulatortest.NewTransport(map[string]http.Handler{"s.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first|")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "second")
	})})
	resp, err := tr.Client().Get("http://s.test/")
	require.NoError(t, err, "the response arrives before the handler returns")
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "first|", string(buf[:n]), "what is written is readable at once")
	close(release)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "second", string(rest))
}

func TestTransportDropAfterTheHeader(t *testing.T) {
	tr := emulatortest.NewTransport(map[string]http.Handler{"d.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})})
	resp, err := tr.Client().Get("http://d.test/")
	if err != nil {
		// The panic may come before RoundTrip saw the header.
		require.ErrorIs(t, err, emulatortest.ErrConnectionDropped)
		return
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, emulatortest.ErrConnectionDropped)
}

func TestTransportContextCancellation(t *testing.T) {
	entered := make(chan struct{})
	handlerSaw := make(chan error, 1)
	tr := emulatortest.NewTransport(map[string]http.Handler{"c.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			io.WriteString(w, "head|")
			http.NewResponseController(w).Flush()
		}
		close(entered)
		<-r.Context().Done()
		handlerSaw <- r.Context().Err()
	})})

	// Before the header: RoundTrip returns the context's error, and the
	// handler sees its request's context end.
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", "http://c.test/", nil)
	require.NoError(t, err)
	go func() { <-entered; cancel() }()
	_, err = tr.Client().Do(req)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, <-handlerSaw, context.Canceled)

	// While reading the body.
	entered = make(chan struct{})
	ctx, cancel = context.WithCancel(context.Background())
	req, err = http.NewRequestWithContext(ctx, "GET", "http://c.test/body", nil)
	require.NoError(t, err)
	resp, err := tr.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	<-entered
	cancel()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, <-handlerSaw, context.Canceled)

	// A context that ended before the call never reaches the handler.
	_, err = tr.Client().Do(req)
	require.ErrorIs(t, err, context.Canceled)

	// A client timeout is a timeout error.
	entered = make(chan struct{})
	c := &http.Client{Transport: tr, Timeout: 20 * time.Millisecond}
	_, err = c.Get("http://c.test/")
	var te interface{ Timeout() bool }
	require.True(t, errors.As(err, &te) && te.Timeout(), "err = %v", err)
	require.ErrorIs(t, <-handlerSaw, context.DeadlineExceeded, "the handler sees the client's deadline")
}

func TestTransportReraisesHandlerPanics(t *testing.T) {
	tr := emulatortest.NewTransport(map[string]http.Handler{"p.test": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})})
	defer func() {
		v := recover()
		require.NotNil(t, v, "a handler's bug is not a network error")
		require.Contains(t, fmt.Sprint(v), "boom")
	}()
	resp, _ := tr.Client().Get("http://p.test/")
	if resp != nil {
		resp.Body.Close()
	}
	t.Fatal("no panic")
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
