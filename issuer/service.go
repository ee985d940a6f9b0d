package issuer

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/httpops"
)

// DefaultTeamIdleConns is the team API client's pool of idle connections
// NewService keeps: at least the requests a replica serves at once, so that
// a burst reuses connections instead of opening one per call (Go's default
// keeps two per host).
const DefaultTeamIdleConns = 256

// The defaults of ServiceConfig's readiness: the budget of /readyz's
// checks, and how long it reuses their result.
const (
	DefaultReadyTimeout  = 2 * time.Second
	DefaultReadyInterval = 5 * time.Second
)

// PingStore is a user map whose connection a readiness check can test.
type PingStore interface {
	UserStore
	Ping(ctx context.Context) error
}

// ServiceConfig configures NewService. APIURL, APIKey, Store and Auth are
// required.
type ServiceConfig struct {
	APIURL, APIKey string        // the team API and its key
	TeamIdleConns  int           // idle connections kept to the team API; 0: DefaultTeamIdleConns
	Store          PingStore     // the user map; when it is a ReportStore too, it stores the reports
	Auth           Authenticator // who is calling
	Logger         *slog.Logger  // the request log, readiness failures and the handler's log; nil: discard
	// ReadyTimeout is the budget of /readyz's checks (0:
	// DefaultReadyTimeout); ReadyInterval how long it reuses their result
	// (0: DefaultReadyInterval).
	ReadyTimeout, ReadyInterval time.Duration
	// Fallback, when set, serves every path that is not the issuer's nor
	// /readyz (an embedded emulator), logged as the route "emulator".
	Fallback http.Handler
}

// NewService returns the issuer as a whole service, the way vitalsync
// serve runs it: a request log on Logger (the route, never the path or a
// query); /metrics with the Go runtime's and the process's collectors
// (httpops.RegisterProcessMetrics) next to the handler's, and
// vitalsync_team_api_dials_total, the connections the team API client
// opened through its pool; /readyz checking the user map's Ping and a call
// of the team API (httpops.ReadyEvery); and Fallback for the other paths
// (Mount). Serve it with httpops.Serve for the connection limits and the
// graceful shutdown.
func NewService(c ServiceConfig) (http.Handler, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	if err := httpops.RegisterProcessMetrics(reg); err != nil {
		return nil, err
	}
	dials := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vitalsync_team_api_dials_total",
		Help: "Connections the team API client opened; with a pool sized for the load, few after warm-up.",
	})
	reg.MustRegister(dials)
	idle := c.TeamIdleConns
	if idle <= 0 {
		idle = DefaultTeamIdleConns
	}
	team := junction.NewClient(c.APIURL, c.APIKey, junction.WithHTTPClient(&http.Client{Transport: httpops.PooledTransport(idle, dials)}))
	cfg := Config{Team: team, Store: c.Store, Auth: c.Auth, Logger: c.Logger, Registerer: reg}
	if reports, ok := c.Store.(ReportStore); ok {
		cfg.Reports = reports
	}
	h, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ready := httpops.ReadyEvery(c.Logger, orDefault(c.ReadyTimeout, DefaultReadyTimeout), orDefault(c.ReadyInterval, DefaultReadyInterval),
		httpops.Check{Name: "database", Func: c.Store.Ping},
		httpops.Check{Name: "team_api", Func: func(ctx context.Context) error { _, err := team.ListUsers(ctx, 0, 1); return err }},
	)
	fallback := c.Fallback != nil
	return httpops.RequestLog(c.Logger, func(r *http.Request) string { return RouteName(r.URL.Path, fallback) },
		Mount(h, ready, c.Fallback)), nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Mount serves httpops.PathReady with ready (nil: not served), the
// issuer's paths (Paths) with h, and everything else with fallback when
// there is one, else with h (its 404). It matches exact paths instead of
// using http.ServeMux, whose path cleaning would answer some requests with
// a redirect instead of passing them on as sent (e.g. a client_user_id
// holding "/../"), so one address can be the devices' issuer and an
// emulator's API and auth base URL.
func Mount(h, ready, fallback http.Handler) http.Handler {
	paths := Paths()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == httpops.PathReady && ready != nil:
			ready.ServeHTTP(w, r)
		case fallback == nil || slices.Contains(paths, r.URL.Path):
			h.ServeHTTP(w, r)
		default:
			fallback.ServeHTTP(w, r)
		}
	})
}

// RouteName is the route NewService logs a request's path as: a path the
// issuer or /readyz answers, "emulator" for the rest when there is a
// fallback, and "other" otherwise. Never the query, which may name the app
// user.
func RouteName(path string, fallback bool) string {
	if path == httpops.PathReady || slices.Contains(Paths(), path) {
		return path
	}
	if fallback {
		return "emulator"
	}
	return "other"
}
