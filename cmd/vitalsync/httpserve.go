package main

import (
	"context"
	"flag"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vitalsync/vitalsync/httpops"
)

// shutdownTimeout bounds a server's graceful shutdown.
const shutdownTimeout = httpops.DefaultShutdownTimeout

// Defaults of the servers' connection limits (serve and emulator): a
// report or a token request is at most a few kilobytes, and a request's
// answer waits at most for the team API client's own timeouts.
const (
	defaultReadHeaderTimeout = httpops.DefaultReadHeaderTimeout
	defaultReadTimeout       = httpops.DefaultReadTimeout
	defaultWriteTimeout      = httpops.DefaultWriteTimeout
	defaultIdleTimeout       = httpops.DefaultIdleTimeout
	defaultMaxConnsPerClient = httpops.DefaultMaxConnsPerClient
)

// serverLimits are a server's connection limits, from its flags.
type serverLimits struct {
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	maxConnsPerClient                                         int
}

// addServerFlags registers the connection limits' flags on fs.
func addServerFlags(fs *flag.FlagSet) *serverLimits {
	l := &serverLimits{readHeaderTimeout: defaultReadHeaderTimeout}
	durationFlagVar(fs, &l.readTimeout, "read-timeout", defaultReadTimeout, "how long a client may take to send a whole request, body included; a slower one is cut off")
	durationFlagVar(fs, &l.writeTimeout, "write-timeout", defaultWriteTimeout, "how long a request may take from the end of its headers to the end of its answer")
	durationFlagVar(fs, &l.idleTimeout, "idle-timeout", defaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.IntVar(&l.maxConnsPerClient, "max-conns-per-client", defaultMaxConnsPerClient, "connections one client IP address may hold open at once; more are closed at accept (0: no cap; behind a reverse proxy, above its pool)")
	return l
}

// check refuses limits that would leave a server unbounded by mistake.
func (l *serverLimits) check() error {
	switch {
	case l.readTimeout <= 0:
		return usagef("--read-timeout must be positive")
	case l.writeTimeout <= 0:
		return usagef("--write-timeout must be positive")
	case l.idleTimeout <= 0:
		return usagef("--idle-timeout must be positive")
	case l.maxConnsPerClient < 0:
		return usagef("--max-conns-per-client must not be negative")
	}
	if l.readHeaderTimeout > l.readTimeout {
		l.readHeaderTimeout = l.readTimeout
	}
	return nil
}

// defaultLimits are the limits of a server started without the flags.
func defaultLimits() *serverLimits {
	return &serverLimits{readHeaderTimeout: defaultReadHeaderTimeout, readTimeout: defaultReadTimeout,
		writeTimeout: defaultWriteTimeout, idleTimeout: defaultIdleTimeout, maxConnsPerClient: defaultMaxConnsPerClient}
}

// serveUntilDone is serveUntilDoneWithin with shutdownTimeout.
func serveUntilDone(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, limits *serverLimits, ready func() error) error {
	return serveUntilDoneWithin(ctx, e, name, ln, h, shutdownTimeout, limits, ready)
}

// serveUntilDoneWithin serves h on ln until ctx ends, then shuts down
// gracefully within timeout (httpops.Serve). ready runs once the server is
// accepting (it prints the banner). limits bound every connection (nil:
// the defaults).
func serveUntilDoneWithin(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, timeout time.Duration, limits *serverLimits, ready func() error) error {
	if limits == nil {
		limits = defaultLimits()
	}
	if timeout == 0 {
		timeout = -1 // httpops: no grace period
	}
	maxConns := limits.maxConnsPerClient
	if maxConns == 0 {
		maxConns = -1 // httpops: no cap
	}
	return httpops.Serve(ctx, ln, h, httpops.Options{
		Log: e.log, Name: name, ShutdownTimeout: timeout, Ready: ready,
		Limits: httpops.Limits{ReadHeaderTimeout: limits.readHeaderTimeout, ReadTimeout: limits.readTimeout,
			WriteTimeout: limits.writeTimeout, IdleTimeout: limits.idleTimeout, MaxConnsPerClient: maxConns},
	})
}

// listenHosts are the Host header values a server listening on a answers
// its control plane for: its IP and port; for an unspecified IP (0.0.0.0,
// ::) every interface's; and localhost on that port when it listens on
// loopback. A page on another name (DNS rebinding) gets none of it.
func listenHosts(a net.Addr) []string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return []string{a.String()}
	}
	port := strconv.Itoa(ta.Port)
	ips := []net.IP{ta.IP}
	if ta.IP.IsUnspecified() {
		ips = nil
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, ad := range addrs {
				if n, ok := ad.(*net.IPNet); ok {
					ips = append(ips, n.IP)
				}
			}
		}
	}
	var hosts []string
	loopback := false
	for _, ip := range ips {
		hosts = append(hosts, net.JoinHostPort(ip.String(), port))
		loopback = loopback || ip.IsLoopback()
	}
	if loopback {
		hosts = append(hosts, net.JoinHostPort("localhost", port))
	}
	return hosts
}
