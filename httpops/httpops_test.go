package httpops_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/httpops"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := httpops.NewLogger(&buf, "json", "warn")
	require.NoError(t, err)
	log.Info("hidden")
	log.Warn("shown")
	require.NotContains(t, buf.String(), "hidden")
	require.Contains(t, buf.String(), `"msg":"shown"`)
	for _, c := range [][2]string{{"xml", "info"}, {"text", "loud"}, {"", ""}} {
		_, err := httpops.NewLogger(&buf, c[0], c[1])
		require.ErrorIs(t, err, httpops.ErrBadLogOption, c)
	}
}

// A request's line names method, route, status and duration, never the
// path, query or headers; a 5xx is logged at warn.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := httpops.RequestLog(log, func(r *http.Request) string { return "token" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "boom", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "ok") // an implicit 200
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/sign-in-token/alice?session=secret-query", nil)
	req.Header.Set("Authorization", "Bearer secret-header")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x?fail=1", nil))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"level":"INFO","msg":"request","method":"POST","route":"token","status":200`)
	require.Contains(t, lines[1], `"level":"WARN"`)
	require.Contains(t, lines[1], `"status":502`)
	for _, secret := range []string{"secret-query", "secret-header", "alice"} {
		require.NotContains(t, buf.String(), secret)
	}
	buf.Reset()
	httpops.RequestLog(log, nil, http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/a", nil))
	require.Contains(t, buf.String(), `"route":"other","status":404`)
}

// Ready runs its checks at once: a failure and a timeout are named, never
// explained, and logged with their cause; other methods are refused.
func TestReady(t *testing.T) {
	var buf emulatortest.LockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := httpops.Ready(log, 50*time.Millisecond,
		httpops.Check{Name: "database", Func: func(context.Context) error { return errors.New("connection refused at 10.0.0.7") }},
		httpops.Check{Name: "team_api", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		httpops.Check{Name: "cache", Func: func(context.Context) error { return nil }},
	)
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpops.PathReady, nil))
	require.Less(t, time.Since(start), 2*time.Second, "the checks run at once within the budget")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.JSONEq(t, `{"status":"not_ready","checks":{"database":"failed","team_api":"timeout","cache":"ok"}}`, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "10.0.0.7")
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Contains(t, buf.String(), "10.0.0.7")

	ok := httpops.Ready(log, time.Second, httpops.Check{Name: "database", Func: func(context.Context) error { return nil }})
	rec = httptest.NewRecorder()
	ok.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpops.PathReady, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"ready","checks":{"database":"ok"}}`, rec.Body.String())
	rec = httptest.NewRecorder()
	ok.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, httpops.PathReady, nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

// ReadyEvery runs its checks at most once per interval, and requests that
// arrive while they run share that one run.
func TestReadyEvery(t *testing.T) {
	var runs atomic.Int32
	release := make(chan struct{})
	h := httpops.ReadyEvery(slog.New(slog.DiscardHandler), time.Second, time.Hour, httpops.Check{Name: "team_api", Func: func(context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}})
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpops.PathReady, nil))
			codes[i] = rec.Code
		})
	}
	require.Eventually(t, func() bool { return runs.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpops.PathReady, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, []int{200, 200, 200, 200, 200}, codes)
	require.Equal(t, int32(1), runs.Load(), "one run for every request inside the interval")
}

func TestRegisterProcessMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, httpops.RegisterProcessMetrics(reg))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetName() == "vitalsync_build_info" {
			labels := map[string]string{}
			for _, l := range mf.GetMetric()[0].GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			b := httpops.ReadBuild()
			require.Equal(t, map[string]string{"version": b.Version, "revision": cmp.Or(b.Revision, "unknown"), "goversion": b.Go}, labels,
				"the labels are the build ReadBuild reads")
		}
	}
	require.True(t, names["vitalsync_build_info"])
	require.True(t, names["go_goroutines"])
	require.Error(t, httpops.RegisterProcessMetrics(reg), "registering twice is an error")
}

// On ctx's end the listener closes at once and a request in flight gets
// its answer; one that outlives the shutdown timeout is cut off, and Serve
// says so.
func TestServeShutsDownGracefully(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		clean   bool
	}{{"within the timeout", 5 * time.Second, true}, {"past the timeout", 50 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			reached, release := make(chan struct{}), make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(reached)
				<-release
				_, _ = io.WriteString(w, "done")
			})
			var logs emulatortest.LockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			readyRan := make(chan struct{})
			go func() {
				served <- httpops.Serve(ctx, ln, h, httpops.Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), Name: "backend",
					ShutdownTimeout: tc.timeout, Ready: func() error { close(readyRan); return nil }})
			}()
			<-readyRan
			answer := make(chan string, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					answer <- "error: " + err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answer <- string(b)
			}()
			<-reached
			cancel()
			require.Eventually(t, func() bool {
				c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err != nil
			}, 5*time.Second, 10*time.Millisecond, "the listener closes at once")
			if tc.clean {
				close(release)
				require.Equal(t, "done", <-answer)
				require.NoError(t, <-served)
				require.Contains(t, logs.String(), "clean=true")
			} else {
				err := <-served
				require.Error(t, err)
				require.Contains(t, err.Error(), "backend: shutdown")
				require.Contains(t, logs.String(), "clean=false")
				close(release)
				require.True(t, strings.HasPrefix(<-answer, "error: "))
			}
		})
	}
}

// Ready's error stops the server before it serves.
func TestServeReadyError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	boom := errors.New("banner failed")
	err = httpops.Serve(context.Background(), ln, http.NotFoundHandler(), httpops.Options{Log: slog.New(slog.DiscardHandler), Ready: func() error { return boom }})
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), "server: banner failed")
}

// A client at its connection cap has further connections closed at
// accept; others are served.
func TestClientCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var logs emulatortest.LockedBuffer
	ln := httpops.NewClientCapListener(inner, 2, slog.New(slog.NewTextHandler(&logs, nil)))
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	first, second := <-accepted, <-accepted
	// The third is closed by the listener: a read sees the end.
	_ = clients[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = clients[2].Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "connection cap") }, 5*time.Second, 10*time.Millisecond)
	// A slot given back lets the next connection in.
	require.NoError(t, first.Close())
	c, err := net.Dial("tcp", inner.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	select {
	case got := <-accepted:
		got.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the connection after a released slot was not accepted")
	}
	second.Close()
	for _, c := range clients {
		c.Close()
	}
}
