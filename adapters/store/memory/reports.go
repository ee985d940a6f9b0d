package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/vitalsync/vitalsync/issuer"
)

// Reports keeps the latest installation report of each installation and
// each installation's binding; it implements issuer.ReportStore. The zero
// value is empty.
type Reports struct {
	mu       sync.Mutex
	latest   map[string]issuer.Report
	received map[string]int64 // Unix nanoseconds
	bindings map[string]issuer.Binding
	history  map[string][]issuer.PastBinding
}

// SubmitReport applies issuer.Bind and stores the report unless the stored
// one was received later (issuer.ReportStore).
func (s *Reports) SubmitReport(ctx context.Context, sub issuer.Submission) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := sub.Validate(); err != nil {
		return false, fmt.Errorf("submit report: %w", err)
	}
	r := sub.Report
	r.ReportedAt, r.NextAttemptAt = r.ReportedAt.UTC(), r.NextAttemptAt.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, found := s.bindings[r.InstallationID]
	next, replaced, err := issuer.Bind(cur, found, sub)
	if err != nil {
		return false, fmt.Errorf("submit report: %w", err)
	}
	if s.bindings == nil {
		s.bindings, s.history = map[string]issuer.Binding{}, map[string][]issuer.PastBinding{}
		s.latest, s.received = map[string]issuer.Report{}, map[string]int64{}
	}
	s.bindings[r.InstallationID] = next
	if replaced != nil {
		s.history[r.InstallationID] = append(s.history[r.InstallationID],
			issuer.PastBinding{AppUserID: replaced.AppUserID, BoundAt: replaced.BoundAt, UnboundAt: sub.ReceivedAt.UTC()})
	}
	at := sub.ReceivedAt.UnixNano()
	if old, ok := s.received[r.InstallationID]; ok && old > at {
		return false, nil
	}
	s.latest[r.InstallationID], s.received[r.InstallationID] = r, at
	return true, nil
}

// Binding returns the installation's binding, and false if it has none.
func (s *Reports) Binding(ctx context.Context, installation string) (issuer.Binding, bool, error) {
	return lookup(ctx, &s.mu, s.bindings, installation)
}

// BindingHistory returns the bindings rebinds replaced, oldest first.
func (s *Reports) BindingHistory(ctx context.Context, installation string) ([]issuer.PastBinding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]issuer.PastBinding(nil), s.history[installation]...), nil
}

// LatestReport returns the stored report of installation, and false if
// there is none.
func (s *Reports) LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error) {
	return lookup(ctx, &s.mu, s.latest, installation)
}
