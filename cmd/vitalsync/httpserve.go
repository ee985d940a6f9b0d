package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds a server's graceful shutdown.
const shutdownTimeout = 5 * time.Second

// serveUntilDone is serveUntilDoneWithin with shutdownTimeout.
func serveUntilDone(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, ready func() error) error {
	return serveUntilDoneWithin(ctx, e, name, ln, h, shutdownTimeout, ready)
}

// serveUntilDoneWithin serves h on ln until ctx ends, then shuts down
// gracefully: the listener closes at once (new connections are refused),
// idle connections close, and requests in flight have up to timeout to
// finish before their connections are closed too. It logs when the
// shutdown starts and when it ends. ready runs once the server is accepting
// (it prints the banner); an error from it stops the server. Errors are
// prefixed with name.
func serveUntilDoneWithin(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, timeout time.Duration, ready func() error) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
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
