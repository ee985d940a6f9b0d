package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/vitalsync/vitalsync/httpops"
)

// addServerFlags registers a server's connection limits' flags on fs
// (serve and emulator), httpops' defaults by default.
func addServerFlags(fs *flag.FlagSet) *httpops.Limits {
	l := &httpops.Limits{ReadHeaderTimeout: httpops.DefaultReadHeaderTimeout}
	durationFlagVar(fs, &l.ReadTimeout, "read-timeout", httpops.DefaultReadTimeout, "how long a client may take to send a whole request, body included; a slower one is cut off")
	durationFlagVar(fs, &l.WriteTimeout, "write-timeout", httpops.DefaultWriteTimeout, "how long a request may take from the end of its headers to the end of its answer")
	durationFlagVar(fs, &l.IdleTimeout, "idle-timeout", httpops.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.IntVar(&l.MaxConnsPerClient, "max-conns-per-client", httpops.DefaultMaxConnsPerClient, "connections one client IP address may hold open at once; more are closed at accept (0: no cap; behind a reverse proxy, above its pool)")
	return l
}

// checkLimits refuses limits that would leave a server unbounded by
// mistake, and puts them in httpops' terms (-1: no cap).
func checkLimits(l *httpops.Limits) error {
	switch {
	case l.ReadTimeout <= 0:
		return usagef("--read-timeout must be positive")
	case l.WriteTimeout <= 0:
		return usagef("--write-timeout must be positive")
	case l.IdleTimeout <= 0:
		return usagef("--idle-timeout must be positive")
	case l.MaxConnsPerClient < 0:
		return usagef("--max-conns-per-client must not be negative")
	}
	l.ReadHeaderTimeout = min(l.ReadHeaderTimeout, l.ReadTimeout)
	if l.MaxConnsPerClient == 0 {
		l.MaxConnsPerClient = -1
	}
	return nil
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully
// within timeout (httpops.Serve; 0: no grace period). ready runs once the
// server is accepting (it prints the banner).
func serveUntilDone(ctx context.Context, log *slog.Logger, name string, ln net.Listener, h http.Handler,
	timeout time.Duration, limits *httpops.Limits, ready func() error) error {
	if timeout == 0 {
		timeout = -1 // httpops: no grace period
	}
	return httpops.Serve(ctx, ln, h, httpops.Options{Log: log, Name: name, ShutdownTimeout: timeout, Ready: ready, Limits: *limits})
}

// logFlags declares a server's --log-format and --log-level.
func logFlags(fs *flag.FlagSet, what string) (format, level *choice) {
	return choiceFlag(fs, "log-format", "text", what+" format on stderr", "text", "json"),
		choiceFlag(fs, "log-level", "info", "least level logged", "debug", "info", "warn", "error")
}

// newLogger is a server's logger on w (httpops.NewLogger).
func newLogger(w io.Writer, format, level *choice) (*slog.Logger, error) {
	log, err := httpops.NewLogger(w, format.String(), level.String())
	if err != nil {
		return nil, usageErr(err)
	}
	return log, nil
}
