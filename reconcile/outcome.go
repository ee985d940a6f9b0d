package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Result says how a launch ended.
type Result string

// The results.
const (
	// ResultNothingToDo: the SDK agreed with the app; nothing was applied.
	ResultNothingToDo Result = "nothing-to-do"
	// ResultApplied: actions were applied and the SDK now agrees.
	ResultApplied Result = "applied"
	// ResultDeferred: there is work, but an earlier failure's backoff is
	// not over (Outcome.RetryAt); nothing was applied or written.
	ResultDeferred Result = "deferred"
	// ResultFailed: an action failed transiently (the next attempt is
	// scheduled at Outcome.RetryAt) or the launch was cancelled.
	ResultFailed Result = "failed"
	// ResultTerminal: an action failed and the planner has no rule left for
	// its error; no retry is scheduled, a later launch starts afresh.
	ResultTerminal Result = "terminal"
)

// Step is one action the runner applied, and how it ended.
type Step struct {
	Action Action
	// Err is nil when the action succeeded. A stale step (Class
	// ClassStale: the token carried another Vital user than the action
	// named) was not applied, and Err says so; it is no failure, and the
	// next pass plans from what the token source said.
	Err error
	// Class and SDKError classify Err ("" and NoSDKError on success).
	Class    ErrorClass
	SDKError SDKError
}

// Pass is one round of a launch: what the runner observed, what the planner
// planned from it, and the actions applied, in order: a prefix of the
// plan's actions, of which only the last may have failed.
type Pass struct {
	Observation Observation
	Plan        Plan
	Applied     []Step
}

// Divergence is an SDK that did not end where the profile's state machine
// says the launch's successful actions lead.
type Divergence struct {
	// Expected is "" when the table has no path for the actions.
	Expected, Observed fsm.State
}

func (d Divergence) String() string {
	return "expected " + orUnknown(d.Expected) + ", observed " + string(d.Observed)
}

// Outcome is what one launch saw, planned and did.
type Outcome struct {
	Result Result
	// Passes are the launch's rounds, in order; the last one's plan is empty
	// (agreement, a deferral or a terminal end) unless the launch was
	// cancelled or ran out of passes.
	Passes []Pass
	// State is the state observed last.
	State fsm.State
	// RetryAt is when the next attempt is due, after a deferral or a
	// transient failure.
	RetryAt time.Time
	// Interrupted is the action a previous launch was applying when its
	// process died (nil if none); this launch reconciled from what it left.
	Interrupted Action
	// Divergence is set when the SDK did not follow the state machine.
	Divergence *Divergence
}

// Applied returns the actions that succeeded, across passes, in order.
func (o Outcome) Applied() []Action {
	var as []Action
	for _, p := range o.Passes {
		for _, st := range p.Applied {
			if st.Err == nil {
				as = append(as, st.Action)
			}
		}
	}
	return as
}

// First returns the launch's first pass (the zero Pass if it had none).
func (o Outcome) First() Pass {
	if len(o.Passes) == 0 {
		return Pass{}
	}
	return o.Passes[0]
}

// expect runs the applied SDK steps through the profile's state machine,
// built fresh from the observed state, and returns where they should lead
// ("" when the table has no such path).
func (r *Runner) expect(ctx context.Context, from fsm.State, steps []Action) fsm.State {
	m, err := fsm.NewMachine(r.cfg.Profile, from)
	if err != nil {
		return ""
	}
	for _, a := range steps {
		e, ok := eventOf(a)
		if !ok {
			continue
		}
		if err := m.Fire(context.WithoutCancel(ctx), e); err != nil {
			return ""
		}
	}
	return m.State()
}

// eventOf maps an SDK action to its state machine event; Resolve touches
// no SDK state.
func eventOf(a Action) (fsm.Event, bool) {
	switch a.(type) {
	case SignOut:
		return fsm.EventSignOut, true
	case SignIn:
		return fsm.EventSignIn, true
	case Migrate:
		return fsm.EventMigrate, true
	case Reauthenticate:
		return fsm.EventReauthenticate, true
	}
	return "", false
}

func orUnknown(st fsm.State) string {
	if st == "" {
		return "(no path in the table)"
	}
	return string(st)
}

// ErrUnplanned is returned by Outcome.CheckApplied.
var ErrUnplanned = errors.New("reconcile: applied an action the plan did not name")

// CheckApplied verifies the runner's promise that it applies only what the
// planner said: in every pass the applied actions are a prefix of the
// pass's plan (an applied sign-in names the Vital user its plan named, or
// its plan named none), and only the last of them may have failed. Tests
// and simulations assert it after every launch.
func (o Outcome) CheckApplied() error {
	for i, p := range o.Passes {
		if len(p.Applied) > len(p.Plan.Actions) {
			return fmt.Errorf("%w: pass %d applied %d actions of a %d-action plan", ErrUnplanned, i+1,
				len(p.Applied), len(p.Plan.Actions))
		}
		for k, st := range p.Applied {
			if st.Action != p.Plan.Actions[k] {
				return fmt.Errorf("%w: pass %d step %d applied %s, the plan said %s", ErrUnplanned, i+1, k+1,
					st.Action, p.Plan.Actions[k])
			}
			if st.Err != nil && k != len(p.Applied)-1 {
				return fmt.Errorf("%w: pass %d went on after step %d failed", ErrUnplanned, i+1, k+1)
			}
		}
	}
	return nil
}
