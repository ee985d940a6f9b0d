package conformance

import "context"

// FleetConfig sizes the fleet suite.
type FleetConfig struct {
	Seed               uint64
	Installs, Launches int
}

func (h *harness) fleetSuite(ctx context.Context) error { return nil }
