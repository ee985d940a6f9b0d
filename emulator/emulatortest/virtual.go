package emulatortest

import (
	"net/http"
	"time"

	"github.com/vitalsync/vitalsync/adapters/virtual"
)

// The kit's clock and transport are package virtual's, which the
// simulations share.
type (
	// Clock is [virtual.Clock].
	Clock = virtual.Clock
	// Transport is [virtual.Transport].
	Transport = virtual.Transport
)

var (
	// Epoch is [virtual.Epoch].
	Epoch = virtual.Epoch
	// ErrUnknownHost is [virtual.ErrUnknownHost].
	ErrUnknownHost = virtual.ErrUnknownHost
	// ErrConnectionDropped is [virtual.ErrConnectionDropped].
	ErrConnectionDropped = virtual.ErrConnectionDropped
)

// NewClock is [virtual.NewClock].
func NewClock(start time.Time) *Clock { return virtual.NewClock(start) }

// NewTransport is [virtual.NewTransport].
func NewTransport(hosts map[string]http.Handler) *Transport { return virtual.NewTransport(hosts) }
