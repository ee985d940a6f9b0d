package issuer

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestHistogramBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	require.NoError(t, err)
	for _, d := range []time.Duration{-time.Second, time.Millisecond, 3 * time.Millisecond, 2 * time.Second, time.Minute} {
		m.observe(PathSignInToken, http.StatusOK, d)
	}
	m.observe("/wp-admin", http.StatusNotFound, time.Millisecond)
	m.observe("/v1/../metrics", http.StatusNotFound, time.Millisecond)

	const hd = "vitalsync_issuer_request_duration_seconds"
	want := `
# HELP vitalsync_issuer_requests_total Requests answered, by route and HTTP status code.
# TYPE vitalsync_issuer_requests_total counter
vitalsync_issuer_requests_total{code="200",route="/v1/sign-in-token"} 5
vitalsync_issuer_requests_total{code="404",route="other"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "vitalsync_issuer_requests_total"))
	text := expose(t, reg)
	for _, line := range []string{
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="0.001"} 2`,
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="0.0025"} 2`,
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="0.005"} 3`,
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="2.5"} 4`,
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="10"} 4`,
		hd + `_bucket{code="200",route="/v1/sign-in-token",le="+Inf"} 5`,
		hd + `_sum{code="200",route="/v1/sign-in-token"} 62.004`,
		hd + `_count{code="200",route="/v1/sign-in-token"} 5`,
		hd + `_count{code="404",route="other"} 2`,
	} {
		require.Contains(t, text, line+"\n")
	}
}

// expose renders g's metrics as /metrics serves them, in the text format.
func expose(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathMetrics, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4"), rec.Header().Get("Content-Type"))
	return rec.Body.String()
}

// Two handlers on one registry share the collectors; a registry that holds
// another metric under one of the names refuses the handler.
func TestMetricsOnAHostRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := newMetrics(reg)
	require.NoError(t, err)
	b, err := newMetrics(reg)
	require.NoError(t, err)
	a.tokensIssued.Inc()
	b.tokensIssued.Inc()
	require.Equal(t, 2.0, testutil.ToFloat64(a.tokensIssued))
	require.NotNil(t, a.exposition, "a registry is served at /metrics")

	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "vitalsync_issuer_users_created_total", Help: "not ours"}))
	_, err = newMetrics(clash)
	require.Error(t, err)

	// A Registerer that cannot gather: the host serves the metrics.
	m, err := newMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"replica": "a"}, prometheus.NewRegistry()))
	require.NoError(t, err)
	require.Nil(t, m.exposition)
}

// promtool, when installed (Debian's prometheus package), accepts the
// exposition.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus): skipping promtool check metrics")
	}
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	require.NoError(t, err)
	m.observe(PathSignInToken, http.StatusOK, time.Millisecond)
	m.observe(PathVitalUser, http.StatusServiceUnavailable, time.Second)
	m.upstreamTransient.Inc()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(expose(t, reg))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool: %s", out)
}
