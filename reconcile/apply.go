package reconcile

import (
	"context"
	"errors"
	"fmt"
)

// apply applies a plan's actions in order, journaling each before (but a
// sign-out: journaledBefore) and after,
// and stops at the first that did not succeed, whose end it journals for
// the planner to read. It returns an error only when the launch must end
// here: the journal failed or the context was cancelled.
func (r *Runner) apply(ctx context.Context, l *launch, o *Observation, p Plan) error {
	pass := &l.out.Passes[len(l.out.Passes)-1]
	app := o.App.AppUserID
	for _, a := range p.Actions {
		if err := ctx.Err(); err != nil {
			return r.failed(ctx, l, pass, a, app, err)
		}
		start, event := l.j.started(a, app)
		if journaledBefore(a) {
			if err := r.cfg.Journal.Save(ctx, start, event); err != nil {
				return fmt.Errorf("reconcile: journal before %s: %w", a, err)
			}
		}
		l.j = start
		r.log.Info("reconcile action", "action", a.String(), "from_state", string(p.Observed), "profile", r.cfg.Profile.Name)
		stale, err := r.do(ctx, l, app, a)
		if err != nil {
			return r.failed(ctx, l, pass, a, app, err)
		}
		var end actionEnd
		if stale {
			end.class = ClassStale
			pass.Applied = append(pass.Applied, Step{Action: a, Class: ClassStale,
				Err: notApplied{planned: VitalUserOf(a), issued: l.answer.VitalUser}})
			r.log.Info("token source names another Vital user", "action", a.String(), "vital_user", l.answer.VitalUser)
		} else {
			pass.Applied = append(pass.Applied, Step{Action: a})
			l.acted, l.last = true, a
			if a.Type() != TypeResolve {
				l.steps = append(l.steps, a)
			}
		}
		done, event := l.j.ended(a, end, l.answer, app, r.cfg.Backoff)
		if err := r.save(ctx, l, done, event); err != nil || stale {
			return err
		}
	}
	return nil
}

// failed records an action that failed and ends the pass: its SDK error
// and, when transient, the next attempt with backoff. It returns an error
// only when the launch must end now (cancelled, or the journal failed);
// otherwise the planner decides next.
func (r *Runner) failed(ctx context.Context, l *launch, pass *Pass, a Action, app string, err error) error {
	class, sdkErr, retryAfter := classify(ctx, err)
	pass.Applied = append(pass.Applied, Step{Action: a, Err: err, Class: class, SDKError: sdkErr})
	end := actionEnd{class: class, sdkErr: sdkErr, retryAfter: retryAfter}
	if class != ClassCancelled {
		l.last = a
	}
	if class == ClassTransient {
		end.at, end.draw = r.cfg.Now(), r.cfg.Rand()
	}
	next, event := l.j.ended(a, end, l.answer, app, r.cfg.Backoff)
	re := &RunError{Action: a, Class: class, RetryAt: next.NextAttemptAt, Err: err}
	r.log.Warn("reconcile action failed", "action", a.String(), "class", string(class), "sdk_error", string(sdkErr),
		"attempt", next.Attempts)
	if serr := r.save(ctx, l, next, event); serr != nil {
		return errors.Join(re, serr)
	}
	l.failure = re
	if class == ClassCancelled {
		l.out.Result = ResultFailed
		return re
	}
	return nil
}

// do performs one action for app user app, through the SDK call and with
// the token the action names. A token action whose token carries another
// Vital user than it names is not applied (stale): the token is kept,
// unused, and the answer says so.
func (r *Runner) do(ctx context.Context, l *launch, app string, a Action) (stale bool, err error) {
	if _, ok := a.(SignOut); ok {
		return false, r.cfg.SDK.SignOut(ctx)
	}
	if res, ok := a.(Resolve); ok {
		v, err := r.cfg.Tokens.ResolveVitalUser(ctx, res.AppUser)
		if err != nil {
			return false, err
		}
		if l.answer = l.answer.resolved(res.AppUser, v, r.cfg.Now()); !l.answer.Unused {
			l.token = ""
		}
		return false, nil
	}
	call, ok := callOf(a)
	if !ok {
		return false, fmt.Errorf("reconcile: unknown action %T", a)
	}
	v, tok := l.answer.VitalUser, l.token
	l.answer.Unused, l.token = false, ""
	if !reuses(a) || tok == "" {
		if v, tok, err = r.cfg.Tokens.SignInToken(ctx, app); err != nil {
			return false, err
		}
	}
	if l.answer = minted(a, app, v, r.cfg.Now()); l.answer.Unused {
		l.token = tok
		return true, nil
	}
	if call == CallIdentify {
		id, ok := r.cfg.SDK.(Identifier)
		if !ok {
			return false, errors.New("reconcile: the SDK has no identifyExternalUser")
		}
		return false, id.IdentifyWithSignInToken(ctx, app, tok)
	}
	return false, r.cfg.SDK.SignIn(ctx, tok)
}

// notApplied is the report of a stale step: the token source named another
// Vital user than the action. It is no failure and nothing classifies it:
// the next pass plans from the observation's IssuedVitalUserID and
// UnusedToken.
type notApplied struct{ planned, issued string }

func (e notApplied) Error() string {
	return fmt.Sprintf("token source names Vital user %s, the plan named %s", e.issued, e.planned)
}
