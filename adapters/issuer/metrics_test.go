package issuer

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHistogramBuckets(t *testing.T) {
	var m metrics
	for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 2 * time.Second, time.Minute} {
		m.duration.observe(d)
	}
	var b strings.Builder
	require.NoError(t, m.writeTo(&b))
	text := b.String()
	for _, line := range []string{
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.001"} 2`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.0025"} 2`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.005"} 3`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="2.5"} 4`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="10"} 4`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="+Inf"} 5`,
		`vitalsync_issuer_request_duration_seconds_sum 62.004`,
		`vitalsync_issuer_request_duration_seconds_count 5`,
	} {
		require.Contains(t, text, line+"\n")
	}
}
