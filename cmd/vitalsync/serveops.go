package main

import (
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

// newLogger is serve's logger on w: format text or json, at level and
// above (httpops.NewLogger, its refusals as usage errors).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	if err := oneOf("log-level", level, "debug", "info", "warn", "error"); err != nil {
		return nil, err
	}
	if err := oneOf("log-format", format, "text", "json"); err != nil {
		return nil, err
	}
	log, err := httpops.NewLogger(w, format, level)
	if err != nil {
		return nil, usageErr(err)
	}
	return log, nil
}

// routeName is the route a request's path is logged as: a path serve
// answers itself, "emulator" for the rest when an emulator is mounted, and
// "other" otherwise. Never the query, which may name the app user.
func routeName(path string, emulator bool) string {
	if path == pathReady || slices.Contains(issuer.Paths(), path) {
		return path
	}
	if emulator {
		return "emulator"
	}
	return "other"
}

// withRequestLog logs one line per request (httpops.RequestLog) with the
// route routeName gives.
func withRequestLog(log *slog.Logger, emulator bool, h http.Handler) http.Handler {
	return httpops.RequestLog(log, func(r *http.Request) string { return routeName(r.URL.Path, emulator) }, h)
}
