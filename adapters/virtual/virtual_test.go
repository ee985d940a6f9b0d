package virtual_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/virtual"
)

func TestClock(t *testing.T) {
	var zero virtual.Clock
	require.Equal(t, virtual.Epoch, zero.Now(), "the zero clock reads Epoch")
	require.Equal(t, virtual.Epoch.Add(time.Minute), zero.Advance(time.Minute))
	require.Equal(t, virtual.Epoch.Add(time.Minute), zero.Now(), "time stands still between moves")

	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	c := virtual.NewClock(start)
	require.Equal(t, start.UTC(), c.Now())
	require.Equal(t, time.UTC, c.Now().Location())
	c.Set(start.Add(-time.Hour))
	require.Equal(t, start.Add(-time.Hour).UTC(), c.Now(), "Set may go backwards")
	require.Panics(t, func() { c.Advance(-time.Nanosecond) })
}

func TestClockAfterFiresOnVirtualTime(t *testing.T) {
	c := &virtual.Clock{}
	now := c.After(0)
	require.Equal(t, virtual.Epoch, <-now, "a zero wait fires at once")

	a := c.After(10 * time.Second)
	b := c.After(time.Minute)
	require.Equal(t, 2, c.Waiters())
	c.Advance(9 * time.Second)
	requireNotReady(t, a)
	at := c.Advance(time.Second)
	require.Equal(t, at, <-a, "fires at its deadline with the reading")
	requireNotReady(t, b)
	require.Equal(t, 1, c.Waiters())
	c.Set(virtual.Epoch.Add(time.Hour))
	require.Equal(t, virtual.Epoch.Add(time.Hour), <-b, "Set fires what it passes")
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
	c := &virtual.Clock{}
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
	require.Equal(t, virtual.Epoch.Add(800*time.Second), c.Now())
	require.Zero(t, c.Waiters())
}

func TestTransportUnknownHost(t *testing.T) {
	tr := virtual.NewTransport(map[string]http.Handler{"a.test": http.NotFoundHandler()})
	resp, err := tr.Client().Get("http://b.test/x")
	if resp != nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, virtual.ErrUnknownHost)

	// Hosts match without regard to case; ports are part of the host.
	resp, err = tr.Client().Get("http://A.TEST/x")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, err = tr.Client().Get("http://a.test:8080/x")
	require.ErrorIs(t, err, virtual.ErrUnknownHost)
	require.Panics(t, func() { tr.Handle("", http.NotFoundHandler()) })
	require.Panics(t, func() { tr.Handle("c.test", nil) })
}

func TestTransportRequestAndResponse(t *testing.T) {
	var got *http.Request
	var gotBody string
	tr := &virtual.Transport{}
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
	tr := virtual.NewTransport(map[string]http.Handler{"s.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	tr := virtual.NewTransport(map[string]http.Handler{"d.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})})
	resp, err := tr.Client().Get("http://d.test/")
	if err != nil {
		// The panic may come before RoundTrip saw the header.
		require.ErrorIs(t, err, virtual.ErrConnectionDropped)
		return
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, virtual.ErrConnectionDropped)
}

func TestTransportContextCancellation(t *testing.T) {
	entered := make(chan struct{})
	handlerSaw := make(chan error, 1)
	tr := virtual.NewTransport(map[string]http.Handler{"c.test": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	tr := virtual.NewTransport(map[string]http.Handler{"p.test": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
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
