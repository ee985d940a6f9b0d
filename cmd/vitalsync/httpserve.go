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

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully.
// ready runs once the server is accepting (it prints the banner); an error
// from it stops the server. Errors are prefixed with name.
func serveUntilDone(ctx context.Context, e *env, name string, ln net.Listener, h http.Handler, ready func() error) error {
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
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("%s: %w", name, serr)
	}
	if err == nil {
		e.log.Info(name + " stopped")
	}
	return err
}
