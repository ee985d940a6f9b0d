package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/reconcile"
)

// Engine is vitalsync's own launch task: reconcile's planner and runner,
// unchanged, as installation composes them.
type Engine struct{}

// Name returns "engine".
func (Engine) Name() string { return "engine" }

// Launch runs the process's reconcile runner once, in the caller's
// goroutine.
func (Engine) Launch(ctx context.Context, p *Process) LaunchResult {
	out, err := p.Installation.Runner().Run(ctx)
	l := LaunchResult{Outcome: &out, Result: string(out.Result), Err: err}
	for _, pass := range out.Passes {
		for _, st := range pass.Applied {
			l.Applied = append(l.Applied, Applied{Action: st.Action, Err: st.Err})
		}
	}
	if l.Result == "" {
		l.Result = string(reconcile.ResultFailed)
	}
	return l
}
