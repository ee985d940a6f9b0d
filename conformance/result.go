package conformance

import (
	"errors"
	"fmt"
)

// ErrNoCase is Summary.Err of a run that ran no case (a Config.Case that
// names none).
var ErrNoCase = errors.New("conformance: no case matched")

// FailedError is Summary.Err of a run with a failed case, or a skipped one
// where skips are not allowed.
type FailedError struct{ Failed, Skipped, Total int }

func (e *FailedError) Error() string {
	return fmt.Sprintf("conformance: %d of %d cases failed, %d skipped", e.Failed, e.Total, e.Skipped)
}

// Err is nil when the run passed (OK), ErrNoCase when it ran no case, and a
// *FailedError otherwise.
func (s *Summary) Err(allowSkip bool) error {
	switch {
	case len(s.Cases) == 0:
		return ErrNoCase
	case !s.OK(allowSkip):
		return &FailedError{Failed: s.Failed, Skipped: s.Skipped, Total: len(s.Cases)}
	}
	return nil
}
