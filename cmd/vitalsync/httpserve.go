package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// shutdownTimeout bounds a server's graceful shutdown.
const shutdownTimeout = 5 * time.Second

// Defaults of the servers' connection limits (serve and emulator).
const (
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultReadTimeout bounds reading a whole request, body included: a
	// report or a token request is at most a few kilobytes.
	defaultReadTimeout = 30 * time.Second
	// defaultWriteTimeout bounds a request from the end of its headers to
	// the end of its answer: above the team API client's own timeouts.
	defaultWriteTimeout = 60 * time.Second
	defaultIdleTimeout  = 120 * time.Second
	// defaultMaxConnsPerClient caps the connections one client address
	// holds open at once: above what one busy client (or a reverse proxy's
	// pool, which all traffic shares) opens, far below what a slow-request
	// attack needs to starve the server.
	defaultMaxConnsPerClient = 512
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
// gracefully: the listener closes at once (new connections are refused),
// idle connections close, and requests in flight have up to timeout to
// finish before their connections are closed too. It logs when the
// shutdown starts and when it ends. ready runs once the server is accepting
// (it prints the banner); an error from it stops the server. Errors are
// prefixed with name. limits bound every connection (nil: the defaults).
func serveUntilDoneWithin(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, timeout time.Duration, limits *serverLimits, ready func() error) error {
	if limits == nil {
		limits = defaultLimits()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limits.readHeaderTimeout,
		ReadTimeout:       limits.readTimeout,
		WriteTimeout:      limits.writeTimeout,
		IdleTimeout:       limits.idleTimeout,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	if limits.maxConnsPerClient > 0 {
		ln = newClientCapListener(ln, limits.maxConnsPerClient, e.log.With("server", name))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if err := ready(); err != nil {
		srv.Close()
		<-served
		return fmt.Errorf("%s: %w", name, err)
	}
	select {
	case err := <-served:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	began := time.Now()
	e.log.Info(name+" shutdown started", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("%s: %w", name, serr)
	}
	e.log.Info(name+" shutdown finished", "duration", time.Since(began), "clean", err == nil)
	if err == nil {
		e.log.Info(name + " stopped")
	}
	return err
}

// clientCapListener closes, at accept, a connection from a client IP
// address that already holds max open ones: one client cannot take every
// connection a server has. Refusals are counted and logged at most once a
// second.
type clientCapListener struct {
	net.Listener
	max     int
	log     *slog.Logger
	mu      sync.Mutex
	open    map[string]int
	refused atomic.Int64
	logged  atomic.Int64 // Unix seconds of the last refusal logged
}

func newClientCapListener(ln net.Listener, max int, log *slog.Logger) *clientCapListener {
	return &clientCapListener{Listener: ln, max: max, log: log, open: map[string]int{}}
}

// Accept returns the next connection within the cap, closing those over it.
func (l *clientCapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := clientHost(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[host]
		if n >= l.max {
			l.mu.Unlock()
			c.Close()
			total := l.refused.Add(1)
			if now := time.Now().Unix(); l.logged.Swap(now) != now {
				l.log.Warn("connection refused: client at its connection cap", "client", host, "cap", l.max, "refused_total", total)
			}
			continue
		}
		l.open[host] = n + 1
		l.mu.Unlock()
		return &cappedConn{Conn: c, l: l, host: host}, nil
	}
}

func (l *clientCapListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

// clientHost is a remote address's IP, the cap's key.
func clientHost(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// cappedConn gives its slot back once, when closed.
type cappedConn struct {
	net.Conn
	l    *clientCapListener
	host string
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.host) })
	return err
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
