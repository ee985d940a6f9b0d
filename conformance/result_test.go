package conformance

import (
	"errors"
	"testing"
)

func TestSummaryErr(t *testing.T) {
	pass, skip, fail := CaseResult{Status: "pass"}, CaseResult{Status: "skip"}, CaseResult{Status: "fail"}
	for _, tc := range []struct {
		sum       Summary
		allowSkip bool
		want      error
	}{
		{Summary{}, true, ErrNoCase},
		{Summary{Cases: []CaseResult{pass}, Passed: 1}, false, nil},
		{Summary{Cases: []CaseResult{pass, skip}, Passed: 1, Skipped: 1}, true, nil},
		{Summary{Cases: []CaseResult{pass, skip}, Passed: 1, Skipped: 1}, false, &FailedError{Skipped: 1, Total: 2}},
		{Summary{Cases: []CaseResult{fail, skip}, Failed: 1, Skipped: 1}, true, &FailedError{Failed: 1, Skipped: 1, Total: 2}},
	} {
		got := tc.sum.Err(tc.allowSkip)
		var fe *FailedError
		if want, ok := tc.want.(*FailedError); ok {
			if !errors.As(got, &fe) || *fe != *want {
				t.Errorf("Err(%v) of %+v = %v, want %v", tc.allowSkip, tc.sum, got, want)
			}
		} else if got != tc.want {
			t.Errorf("Err(%v) of %+v = %v, want %v", tc.allowSkip, tc.sum, got, tc.want)
		}
	}
}
