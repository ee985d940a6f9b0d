package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vitalsync/vitalsync/httpops"
)

// serverFlags are the flags of a command that serves HTTP (serve and
// emulator): the address to listen on and the connection limits.
type serverFlags struct {
	addr   string
	limits httpops.Limits
}

// addServerFlags registers --addr (def by default) and the connection
// limits' flags on fs, httpops' defaults by default.
func addServerFlags(fs *flag.FlagSet, def string) *serverFlags {
	s := &serverFlags{limits: httpops.Limits{ReadHeaderTimeout: httpops.DefaultReadHeaderTimeout}}
	l := &s.limits
	fs.StringVar(&s.addr, "addr", def, "address to listen on; port 0 picks a free port")
	durationFlagVar(fs, &l.ReadTimeout, "read-timeout", httpops.DefaultReadTimeout, "how long a client may take to send a whole request, body included; a slower one is cut off")
	durationFlagVar(fs, &l.WriteTimeout, "write-timeout", httpops.DefaultWriteTimeout, "how long a request may take from the end of its headers to the end of its answer")
	durationFlagVar(fs, &l.IdleTimeout, "idle-timeout", httpops.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.IntVar(&l.MaxConnsPerClient, "max-conns-per-client", httpops.DefaultMaxConnsPerClient, "connections one client IP address may hold open at once; more are closed at accept (0: no cap; behind a reverse proxy, above its pool)")
	return s
}

// check refuses limits that would leave a server unbounded by mistake, and
// puts them in httpops' terms (-1: no cap).
func (s *serverFlags) check() error {
	l := &s.limits
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
	return s.checkAddr()
}

// errBadAddr is matched by the usage error of an --addr that is no
// HOST:PORT.
var errBadAddr = errors.New("not a HOST:PORT address")

// checkAddr refuses --addr when it cannot be a listen address (exit 2);
// one that is busy or not this machine's fails when listening (exit 1).
func (s *serverFlags) checkAddr() error {
	_, port, err := net.SplitHostPort(s.addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return usageErr(fmt.Errorf("%w: --addr %q: give HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)", errBadAddr, s.addr))
	}
	return nil
}

// serve serves h on ln until ctx ends, then shuts down gracefully within
// timeout (httpops.Serve; 0: no grace period). Once the server accepts, it
// prints banner to stdout and logs "NAME serving" with the address and
// attrs.
func (s *serverFlags) serve(ctx context.Context, log *slog.Logger, name string, ln net.Listener, h http.Handler,
	timeout time.Duration, stdout io.Writer, banner string, attrs ...any) error {
	if timeout == 0 {
		timeout = -1 // httpops: no grace period
	}
	ready := func() error {
		_, err := fmt.Fprint(stdout, banner)
		if err == nil {
			log.Info(name+" serving", append([]any{"addr", ln.Addr().String()}, attrs...)...)
		}
		return err
	}
	return httpops.Serve(ctx, ln, h, httpops.Options{Log: log, Name: name, ShutdownTimeout: timeout, Ready: ready, Limits: s.limits})
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
