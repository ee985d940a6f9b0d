package issuer

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// durationBuckets are the upper bounds, in seconds, of the request duration
// histogram.
var durationBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics are the handler's counters, written in the Prometheus text
// exposition format by writeTo. All fields are safe for concurrent use.
type metrics struct {
	tokensIssued      atomic.Uint64
	usersCreated      atomic.Uint64
	usersAdopted      atomic.Uint64
	usersReplaced     atomic.Uint64
	upstreamTransient atomic.Uint64
	upstreamTerminal  atomic.Uint64
	duration          histogram
}

// histogram is a cumulative-bucket histogram over durationBuckets.
type histogram struct {
	counts  [len(durationBuckets) + 1]atomic.Uint64 // the last is +Inf
	sumBits atomic.Uint64                           // float64 seconds
	count   atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	if s < 0 {
		s = 0
	}
	i := len(durationBuckets)
	for j, ub := range durationBuckets {
		if s <= ub {
			i = j
			break
		}
	}
	h.counts[i].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+s)) {
			break
		}
	}
	h.count.Add(1)
}

// writeTo writes every metric with its HELP and TYPE lines.
func (m *metrics) writeTo(w io.Writer) error {
	ew := &errWriter{w: w}
	counter := func(name, help string, v uint64) {
		ew.printf("# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("vitalsync_issuer_tokens_issued_total", "Sign-In Tokens handed to app users.", m.tokensIssued.Load())
	counter("vitalsync_issuer_users_created_total", "Vital users created through the team API.", m.usersCreated.Load())
	counter("vitalsync_issuer_users_adopted_total", "Existing Vital users adopted after a client_user_id conflict.", m.usersAdopted.Load())
	counter("vitalsync_issuer_users_replaced_total", "Mappings to deleted Vital users replaced by new users.", m.usersReplaced.Load())

	const up = "vitalsync_issuer_upstream_errors_total"
	ew.printf("# HELP %s Team API failures that failed a request, by class.\n# TYPE %s counter\n", up, up)
	ew.printf("%s{class=\"transient\"} %d\n", up, m.upstreamTransient.Load())
	ew.printf("%s{class=\"terminal\"} %d\n", up, m.upstreamTerminal.Load())

	const hd = "vitalsync_issuer_request_duration_seconds"
	ew.printf("# HELP %s Duration of sign-in-token and vital-user requests.\n# TYPE %s histogram\n", hd, hd)
	// The count is the +Inf bucket, so a scrape during observations stays
	// self-consistent (the sum may lag by those in flight).
	var cum uint64
	for i, ub := range durationBuckets {
		cum += m.duration.counts[i].Load()
		ew.printf("%s_bucket{le=\"%s\"} %d\n", hd, strconv.FormatFloat(ub, 'g', -1, 64), cum)
	}
	cum += m.duration.counts[len(durationBuckets)].Load()
	ew.printf("%s_bucket{le=\"+Inf\"} %d\n", hd, cum)
	ew.printf("%s_sum %s\n", hd, strconv.FormatFloat(math.Float64frombits(m.duration.sumBits.Load()), 'g', -1, 64))
	ew.printf("%s_count %d\n", hd, cum)
	return ew.err
}

// errWriter keeps the first write error and skips the writes after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
