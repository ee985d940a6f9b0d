package installation

import (
	"context"
	"errors"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// LaunchRecord is one launch in stable strings, as vitalsync launch
// --format json and vitalsync demo print it: every pass of the runner (its
// observation, its plan and the actions it applied), the outcome, and the
// network calls, database writes and report calls it cost. Its field names
// are stable.
type LaunchRecord struct {
	Passes       []reconcile.Pass `json:"passes"`
	Outcome      LaunchOutcome    `json:"outcome"`
	NetworkCalls int64            `json:"network_calls"`
	DBWrites     uint64           `json:"db_writes"`
	// ReportCalls counts the installation report sent after the
	// reconcile, apart from its network calls.
	ReportCalls int64 `json:"report_calls"`
}

// LaunchOutcome is a launch's outcome in stable strings.
type LaunchOutcome struct {
	Result  reconcile.Result `json:"result"` // nothing-to-do, applied, deferred, failed, terminal
	Applied []string         `json:"applied"`
	State   string           `json:"state"`
	RetryAt *time.Time       `json:"retry_at"`
	Error   string           `json:"error,omitempty"`
	Class   string           `json:"error_class,omitempty"`
	// Interrupted and Divergence: see reconcile.Outcome.
	Interrupted string                `json:"interrupted,omitempty"`
	Divergence  *reconcile.Divergence `json:"divergence,omitempty"`
}

// First returns the record's first pass (the zero Pass when there is none).
func (r LaunchRecord) First() reconcile.Pass {
	if len(r.Passes) == 0 {
		return reconcile.Pass{}
	}
	return r.Passes[0]
}

// RecordLaunch is one process launch of cfg's installation (as Launch),
// recorded. The run's error is returned beside a complete record, whose
// outcome then holds the error, its class and the state the SDK's status
// tells.
func RecordLaunch(ctx context.Context, cfg Config) (LaunchRecord, error) {
	in, err := Open(ctx, cfg)
	if err != nil {
		return LaunchRecord{}, err
	}
	writes0 := in.Writes()
	sum, runErr := in.Run(ctx)
	sum.NetworkCalls, sum.DBWrites = in.NetworkCalls(), in.Writes()-writes0
	return newLaunchRecord(sum, runErr, cfg.Profile, in.SDK().Status()), runErr
}

func newLaunchRecord(sum Summary, runErr error, profile fsm.Profile, sdkStatus fsm.Status) LaunchRecord {
	out := sum.Outcome
	r := LaunchRecord{Passes: out.Passes, NetworkCalls: sum.NetworkCalls, DBWrites: sum.DBWrites, ReportCalls: sum.ReportCalls,
		Outcome: LaunchOutcome{Result: out.Result, Applied: []string{}, State: string(out.State), Divergence: out.Divergence}}
	if r.Passes == nil {
		r.Passes = []reconcile.Pass{}
	}
	if out.Interrupted != nil {
		r.Outcome.Interrupted = out.Interrupted.String()
	}
	for _, a := range out.Applied() {
		r.Outcome.Applied = append(r.Outcome.Applied, a.String())
	}
	retryAt := out.RetryAt
	if runErr != nil {
		if r.Outcome.Result == "" {
			r.Outcome.Result = reconcile.ResultFailed
		}
		r.Outcome.Error = runErr.Error()
		var re *reconcile.RunError
		if errors.As(runErr, &re) {
			r.Outcome.Class = string(re.Class)
			retryAt = re.RetryAt
		}
		r.Outcome.State = ""
		if st, err := fsm.Classify(sdkStatus, "", profile); err == nil {
			r.Outcome.State = string(st)
		}
	}
	if !retryAt.IsZero() {
		t := retryAt.UTC()
		r.Outcome.RetryAt = &t
	}
	return r
}
