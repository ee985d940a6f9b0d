package emulatorclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/emulator"
)

// The kinds of Fault.
const (
	FaultFail      = "fail"       // answer an error status
	FaultDelay     = "delay"      // wait first
	FaultDrop      = "drop"       // lose the connection
	FaultRateLimit = "rate-limit" // answer 429 with a Retry-After
)

// Fault is a fault to queue on the next Count requests of Route (Queue).
type Fault struct {
	Kind       string        // FaultFail, FaultDelay, FaultDrop or FaultRateLimit
	Route      string        // a route's name (RouteNames) or "METHOD /pattern"
	Count      int           // 1 to emulator.MaxFaultCount
	Status     int           // FaultFail: the error status, 400 to 599
	Delay      time.Duration // FaultDelay: positive, at most emulator.MaxFaultDelay
	RetryAfter time.Duration // FaultRateLimit: 0 to emulator.MaxRetryAfter
}

// ErrInvalid is matched by the *FieldError of a request refused before it
// is sent.
var ErrInvalid = errors.New("emulatorclient: invalid request")

// FieldError is a field of a request out of its range, refused before
// anything is sent: "Field Reason", as "count must be between 1 and 10000,
// not 0".
type FieldError struct {
	Field  string // "route", "count", "status", "delay", "retry-after" or "by"
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Is matches ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// RouteNames lists the short names of the emulated routes, which Fault's
// Route takes ("create-user", "token", …), comma-separated.
func RouteNames() string {
	names := make([]string, 0, len(emulator.Routes()))
	for _, r := range emulator.Routes() {
		names = append(names, r.Name())
	}
	return strings.Join(names, ", ")
}

// Check returns a *FieldError for the first field of f out of its range.
func (f Fault) Check() error {
	if _, ok := emulator.ParseRoute(f.Route); !ok {
		return invalid("route", "must be one of %s (or \"METHOD /pattern\"), not %q", RouteNames(), f.Route)
	}
	if f.Count < 1 || f.Count > emulator.MaxFaultCount {
		return invalid("count", "must be between 1 and %d, not %d", emulator.MaxFaultCount, f.Count)
	}
	switch f.Kind {
	case FaultFail:
		if f.Status < 400 || f.Status > 599 {
			return invalid("status", "must be between 400 and 599, not %d", f.Status)
		}
	case FaultDelay:
		if f.Delay <= 0 || f.Delay > emulator.MaxFaultDelay {
			return invalid("delay", "must be positive and at most %v, not %v", emulator.MaxFaultDelay, f.Delay)
		}
	case FaultRateLimit:
		if f.RetryAfter < 0 || f.RetryAfter > emulator.MaxRetryAfter {
			return invalid("retry-after", "must be between 0s and %v, not %v", emulator.MaxRetryAfter, f.RetryAfter)
		}
	case FaultDrop:
	default:
		return invalid("kind", "must be %s, %s, %s or %s, not %q", FaultFail, FaultDelay, FaultDrop, FaultRateLimit, f.Kind)
	}
	return nil
}

// Queue checks f (a *FieldError when it is out of range, and nothing is
// sent) and queues it with Fail, Delay, Drop or RateLimit.
func (c *Client) Queue(ctx context.Context, f Fault) (emulator.FaultOverview, error) {
	if err := f.Check(); err != nil {
		return emulator.FaultOverview{}, err
	}
	switch f.Kind {
	case FaultFail:
		return c.Fail(ctx, f.Route, f.Status, f.Count)
	case FaultDelay:
		return c.Delay(ctx, f.Route, f.Delay, f.Count)
	case FaultRateLimit:
		return c.RateLimit(ctx, f.Route, f.RetryAfter, f.Count)
	}
	return c.Drop(ctx, f.Route, f.Count)
}

// CheckAdvance returns a *FieldError unless d is a clock advance the
// emulator accepts: positive and at most emulator.MaxAdvance.
func CheckAdvance(d time.Duration) error {
	if d <= 0 || d > emulator.MaxAdvance {
		return invalid("by", "must be positive and at most %v, not %v", emulator.MaxAdvance, d)
	}
	return nil
}
