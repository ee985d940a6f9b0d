package issuer

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// durationBuckets are the upper bounds, in seconds, of the request duration
// histogram.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// routeOther is the route label of a request to a path the handler does not
// serve: one value for all of them, so that scanners cannot grow the
// series without bound.
const routeOther = "other"

// metrics are the handler's collectors (client_golang), registered on the
// Registerer of Config. All fields are safe for concurrent use.
type metrics struct {
	tokensIssued      prometheus.Counter
	usersCreated      prometheus.Counter
	usersAdopted      prometheus.Counter
	usersReplaced     prometheus.Counter
	upstreamTransient prometheus.Counter
	upstreamTerminal  prometheus.Counter
	requests          *prometheus.CounterVec   // by route and code
	duration          *prometheus.HistogramVec // by route and code
	// exposition serves GET /metrics; nil when the host serves its own.
	exposition http.Handler
}

// newMetrics registers the handler's collectors on reg. A nil reg is a new
// registry of the handler's own, which /metrics serves; a reg that is also
// a prometheus.Gatherer (a *prometheus.Registry) is served at /metrics too.
// A collector already registered on reg by another Handler is shared with
// it, so several handlers may join one registry.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m.tokensIssued = counter("vitalsync_issuer_tokens_issued_total", "Sign-In Tokens handed to app users.")
	m.usersCreated = counter("vitalsync_issuer_users_created_total", "Vital users created through the team API.")
	m.usersAdopted = counter("vitalsync_issuer_users_adopted_total", "Existing Vital users adopted after a client_user_id conflict.")
	m.usersReplaced = counter("vitalsync_issuer_users_replaced_total", "Mappings to deleted Vital users replaced by new users.")
	upstream := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitalsync_issuer_upstream_errors_total",
		Help: "Team API failures that failed a request, by class.",
	}, []string{"class"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitalsync_issuer_requests_total",
		Help: "Requests answered, by route and HTTP status code.",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vitalsync_issuer_request_duration_seconds",
		Help:    "Time to answer a request, by route and HTTP status code.",
		Buckets: durationBuckets,
	}, []string{"route", "code"})

	var err error
	register := func(c prometheus.Collector) prometheus.Collector {
		if err != nil {
			return c
		}
		var are prometheus.AlreadyRegisteredError
		switch rerr := reg.Register(c); {
		case errors.As(rerr, &are):
			return are.ExistingCollector
		case rerr != nil:
			err = rerr
		}
		return c
	}
	m.tokensIssued = register(m.tokensIssued).(prometheus.Counter)
	m.usersCreated = register(m.usersCreated).(prometheus.Counter)
	m.usersAdopted = register(m.usersAdopted).(prometheus.Counter)
	m.usersReplaced = register(m.usersReplaced).(prometheus.Counter)
	upstream = register(upstream).(*prometheus.CounterVec)
	m.requests = register(m.requests).(*prometheus.CounterVec)
	m.duration = register(m.duration).(*prometheus.HistogramVec)
	if err != nil {
		return nil, err
	}
	m.upstreamTransient = upstream.WithLabelValues("transient")
	m.upstreamTerminal = upstream.WithLabelValues("terminal")
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.exposition = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	}
	return m, nil
}

// observe counts and times one answered request.
func (m *metrics) observe(path string, status int, d time.Duration) {
	route := routeOther
	switch path {
	case PathSignInToken, PathVitalUser, PathHealth, PathMetrics:
		route = path
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route, code).Observe(max(d.Seconds(), 0))
}
