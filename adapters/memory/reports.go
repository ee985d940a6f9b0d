package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/vitalsync/vitalsync/adapters/issuer"
)

// Reports keeps the latest installation report of each installation; it
// implements issuer.ReportStore. The zero value is empty.
type Reports struct {
	mu     sync.Mutex
	latest map[string]issuer.Report
}

// PutReport stores r unless the stored report of its installation was taken
// later; it reports whether r was stored. A report that fails Validate is
// refused with an error matching issuer.ErrBadReport.
func (s *Reports) PutReport(ctx context.Context, r issuer.Report) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("put report: %w", err)
	}
	r.ReportedAt, r.NextAttemptAt = r.ReportedAt.UTC(), r.NextAttemptAt.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.latest[r.InstallationID]; ok && old.ReportedAt.After(r.ReportedAt) {
		return false, nil
	}
	if s.latest == nil {
		s.latest = map[string]issuer.Report{}
	}
	s.latest[r.InstallationID] = r
	return true, nil
}

// LatestReport returns the stored report of installation, and false if
// there is none.
func (s *Reports) LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error) {
	if err := ctx.Err(); err != nil {
		return issuer.Report{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.latest[installation]
	return r, ok, nil
}
