package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slowBody opens a connection to addr from local (nil: any) and starts a
// POST whose 4000-byte body then trickles in, a byte every 100ms.
func slowBody(t *testing.T, addr string, local net.Addr, path, header string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: local, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n"+header+"\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
	require.NoError(t, err)
	go func() {
		for range 3999 {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return c
}

// slowHeaders opens a connection to addr that the server accepts and
// sends half a request's headers on it; a connection the server closes at
// once (its client at the cap) is tried again.
func slowHeaders(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		require.NoError(t, err)
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n")
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Cleanup(func() { c.Close() })
			return
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the server accepted no connection")
}

// closedWithin reports whether the server closes c (after its answer, if
// any) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

// healthy reports whether GET /healthz from local is answered (the
// emulator answers it 404, serve 200).
func healthy(t *testing.T, addr string, local net.Addr) bool {
	t.Helper()
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: local}).DialContext, DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound
}

// Slow request bodies are cut off at --read-timeout, one client address
// holds at most --max-conns-per-client connections, and other clients are
// served meanwhile: on serve (with its emulator) and on the emulator
// (issue: a body sent a byte every 5s held a connection forever, 1,500 at
// once).
func TestServersCutSlowBodiesAndCapClients(t *testing.T) {
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	// start starts the server and returns its address, a route that reads
	// its body and the header that authenticates the request.
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, args ...string) (addr, path, header string)
	}{
		{"serve", func(t *testing.T, args ...string) (string, string, string) {
			banner, _, _, _ := startServe(t, append([]string{"--addr", "127.0.0.1:0", "--db", t.TempDir() + "/issuer.db",
				"--session-secret", testSessionSecret, "--emulator"}, args...)...)
			session := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
			return strings.TrimPrefix(bannerValue(t, banner, "issuer listening on"), "http://"),
				"/v1/installation-report", "Authorization: Bearer " + session
		}},
		{"emulator", func(t *testing.T, args ...string) (string, string, string) {
			printed, _, _, _ := startEmulator(t, append([]string{"--addr", "127.0.0.1:0", "--show-key"}, args...)...)
			return strings.TrimPrefix(printed["API base URL"], "http://"), "/v2/user/", "X-Vital-API-Key: " + printed["API key"]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, path, header := tc.start(t, "--read-timeout", "2s", "--max-conns-per-client", "4")

			// A slow body is cut off at the read timeout.
			began := time.Now()
			c := slowBody(t, addr, nil, path, header)
			require.True(t, closedWithin(c, 8*time.Second), "a slow body held its connection")
			require.GreaterOrEqual(t, time.Since(began), 1900*time.Millisecond, "the body was not read")
			require.Less(t, time.Since(began), 7*time.Second)

			// Four connections sending their headers slowly fill this
			// address's cap: a fifth is closed at once, unanswered, while
			// another address is served.
			for range 4 {
				slowHeaders(t, addr)
			}
			time.Sleep(100 * time.Millisecond)
			fifth, err := net.DialTimeout("tcp", addr, 2*time.Second)
			require.NoError(t, err)
			defer fifth.Close()
			_, _ = io.WriteString(fifth, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
			_ = fifth.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			line, err := bufio.NewReader(fifth).ReadString('\n')
			require.Error(t, err, "the fifth connection was answered: %q", line)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the fifth connection was left open")
			require.True(t, healthy(t, addr, other), "another client was not served")

			// Once the slow ones are cut, this address is served again.
			require.Eventually(t, func() bool { return healthy(t, addr, nil) }, 5*time.Second, 100*time.Millisecond)
		})
	}
}

func TestServerLimitFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--read-timeout", "0"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "0"}, {"--max-conns-per-client", "-1"},
	} {
		_, errOut, code := runCLI("", append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.Contains(t, errOut, strings.TrimPrefix(args[0], "--"))
	}
}
