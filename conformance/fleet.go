package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
	"github.com/vitalsync/vitalsync/simulations"
)

// FleetConfig sizes the fleet suite: the simulations' world (one seed
// decides every installation's profile, schedule and faults), with the
// engine as the installations' launch task.
type FleetConfig struct {
	Seed               uint64
	Installs, Launches int
}

// DefaultFleet is the fleet the suite runs when none is given.
var DefaultFleet = FleetConfig{Seed: 1, Installs: 8, Launches: 12}

// fleetSuite runs a seeded fleet of the simulations' world with the engine
// as every installation's launch task, and checks the simulations'
// invariants: one case per installation.
func (h *harness) fleetSuite(ctx context.Context) error {
	fc := h.cfg.Fleet
	if fc.Installs <= 0 || fc.Launches <= 0 {
		fc = DefaultFleet
	}
	eng, err := h.engine(ctx)
	if err != nil {
		return err
	}
	name := func(i int) string { return fmt.Sprintf("seed:%d/install:%d", fc.Seed, i) }
	if !eng.Hello().Has(CapLaunch) || !eng.Hello().Has(CapRecord) {
		for i := 0; i < fc.Installs; i++ {
			if h.selected(name(i)) {
				h.report(CaseResult{Suite: SuiteFleet, Name: name(i), Status: StatusSkip,
					Detail: "the engine lacks the launch or record capability"})
			}
		}
		return nil
	}
	any := false
	for i := 0; i < fc.Installs; i++ {
		any = any || h.selected(name(i))
	}
	if !any {
		return nil
	}
	s := &remoteStrategy{h: h, paths: map[string]string{}, reported: map[string]reconcile.JournalEntry{},
		errs: map[string]error{}}
	rep, err := simulations.Run(ctx, simulations.Config{Seed: fc.Seed, Installs: fc.Installs, Launches: fc.Launches,
		Strategies: []simulations.Strategy{s}})
	if err != nil {
		return err
	}
	byInstall := map[int][]simulations.Violation{}
	for _, v := range rep.Strategies[0].Violations {
		byInstall[v.Install] = append(byInstall[v.Install], v)
	}
	for i := 0; i < fc.Installs; i++ {
		if !h.selected(name(i)) {
			continue
		}
		r := CaseResult{Suite: SuiteFleet, Name: name(i), Status: StatusPass}
		if err := s.errs[installKey(i)]; err != nil {
			// The engine failed a launch outright (a protocol error, a
			// failed command): the installation's later launches were not
			// run.
			r.Status, r.Detail = StatusFail, err.Error()
		} else if vs := byInstall[i]; len(vs) > 0 {
			var b strings.Builder
			fmt.Fprintf(&b, "the simulations' invariants broke (vitalsync simulate --seed %d --installs %d --launches %d replays the world with vitalsync's own engine):\n",
				fc.Seed, fc.Installs, fc.Launches)
			for _, v := range vs {
				fmt.Fprintf(&b, "  step %d at %s: %s", v.Step, virtual.Epoch.Add(time.Duration(v.At)*time.Second).UTC().Format(time.RFC3339), v.Kind)
				if v.Detail != "" {
					b.WriteString(" (" + v.Detail + ")")
				}
				b.WriteString("\n")
			}
			r.Status, r.Detail = StatusFail, b.String()
		}
		h.report(r)
	}
	return nil
}

// remoteStrategy is a simulations strategy whose launch task is the engine
// process: every SDK call goes to the installation's SDK core, every token
// call to its issuer, and every journal write the engine reports is
// written to the world's journal too, so that the world's crash points
// (the process dies after its k-th write across the SDK store and the
// journal) and checks see it. What the world writes to the journal between
// launches (the app recording an SDK error, a reinstall wiping the app's
// data) is handed to the engine before the next launch; so is the entry
// before a journal write the world's crash struck, which the engine had
// already made: the world's process died before that write reached
// storage, as an engine's process killed before its write's rename would.
type remoteStrategy struct {
	h     *harness
	paths map[string]string
	// reported is the entry the engine's journal holds, per installation:
	// the last it reported saved, or was handed.
	reported map[string]reconcile.JournalEntry
	// handing is set while the world's own journal write is handed to the
	// engine: the engine's journal.saved is not written to the world again.
	handing bool
	// errs holds, per installation, the first launch the engine failed
	// outright; that installation's later launches fail at once.
	errs map[string]error
}

// installKey is the simulations' key of installation i (Process.Key).
func installKey(i int) string { return fmt.Sprintf("install-%d", i) }

func (s *remoteStrategy) Name() string { return "conformance-engine" }

// RecordsSDKErrors: the app hands the SDK errors it meets to the engine
// (through the world's journal; see syncIn), as the engine's app does.
func (s *remoteStrategy) RecordsSDKErrors() bool { return true }

func (s *remoteStrategy) Launch(ctx context.Context, p *simulations.Process) simulations.LaunchResult {
	failed := func(err error) simulations.LaunchResult {
		if s.errs[p.Key] == nil && !errors.Is(err, memory.ErrCrashed) {
			s.errs[p.Key] = err
		}
		return simulations.LaunchResult{Result: string(reconcile.ResultFailed), Err: err}
	}
	if err := s.errs[p.Key]; err != nil {
		return failed(err)
	}
	eng, err := s.h.engine(ctx)
	if err != nil {
		return failed(err)
	}
	path, ok := s.paths[p.Key]
	if !ok {
		path = s.h.journalPath("fleet", len(s.paths))
		s.paths[p.Key] = path
	}
	if err := s.syncIn(ctx, eng, p, path); err != nil {
		return failed(err)
	}
	app := p.App.Session()
	b := reconcile.DefaultBackoff
	req := LaunchRequest{Journal: path, Profile: p.Profile.Name,
		SDK: SDKCalls{Identify: p.Profile.HasIdentify, Initialize: true, ProtectedData: true},
		App: StepApp{SignedIn: app.SignedIn, AppUserID: app.AppUserID, VitalUserID: app.VitalUserID,
			Environment: string(app.Environment), Region: string(app.Region)},
		Config: LaunchConfig{Backoff: BackoffConfig{BaseMS: b.Base.Milliseconds(), CapMS: b.Cap.Milliseconds(), Jitter: b.Jitter}}}
	var protoErr error
	res, err := eng.Do(ctx, CmdLaunch, req, p.Now(), s.handler(ctx, p, &protoErr))
	if errors.Is(err, ErrKilled) && protoErr == nil {
		s.h.eng = nil // the process died at its crash point
		return simulations.LaunchResult{Result: string(reconcile.ResultFailed), Err: fmt.Errorf("the engine process died: %w", memory.ErrCrashed)}
	}
	if err != nil {
		if protoErr != nil {
			err = protoErr
		}
		s.h.eng.Kill()
		s.h.eng = nil
		return failed(fmt.Errorf("launch at %s: %w%s", p.Now().UTC().Format(time.RFC3339), err, stderrTail(eng)))
	}
	var w Outcome
	if err := json.Unmarshal(res, &w); err != nil {
		return failed(fmt.Errorf("%w: launch's result: %v", ErrProtocol, err))
	}
	out, runErr, err := reconcileOutcome(w)
	if err != nil {
		return failed(err)
	}
	l := simulations.LaunchResult{Outcome: &out, Result: string(out.Result), Err: runErr}
	for _, pass := range out.Passes {
		for _, st := range pass.Applied {
			l.Applied = append(l.Applied, simulations.Applied{Action: st.Action, Err: st.Err})
		}
	}
	return l
}

// syncIn hands the engine the world's journal where it differs from the
// engine's: a recorded SDK error as a record command, anything else (a
// reinstall's empty entry, the entry before a crashed write) as
// journal.put.
func (s *remoteStrategy) syncIn(ctx context.Context, eng *Engine, p *simulations.Process, path string) error {
	world, err := p.Journal.Load(ctx)
	if err != nil {
		return err
	}
	have := s.reported[p.Key]
	if entriesEqual(EntryOf(world), EntryOf(have)) {
		return nil
	}
	rec := have
	rec.LastAction, rec.LastError, rec.Attempts = nil, world.LastError, 0
	var protoErr error
	if world.LastAction == nil && world.LastError != reconcile.NoSDKError && entriesEqual(EntryOf(world), EntryOf(rec)) {
		s.handing = true
		_, err = eng.Do(ctx, CmdRecord, RecordRequest{Journal: path, SDKError: string(world.LastError)}, p.Now(),
			s.handler(ctx, p, &protoErr))
		s.handing = false
	} else {
		e := EntryOf(world)
		_, err = eng.Do(ctx, CmdJournalPut, JournalRequest{Journal: path, Entry: &e}, p.Now(), nil)
	}
	if err != nil {
		if protoErr != nil {
			err = protoErr
		}
		return fmt.Errorf("hand the world's journal to the engine: %w", err)
	}
	s.reported[p.Key] = world
	return nil
}

// handler answers the engine's calls from the installation's world. A
// write that meets the world's crash point kills the engine.
func (s *remoteStrategy) handler(ctx context.Context, p *simulations.Process, protoErr *error) CallHandler {
	sdk := p.Installation.SDK()
	return func(call string, args json.RawMessage) (any, *WireError, time.Time, bool) {
		res, err := s.answer(ctx, p, sdk, call, args)
		switch {
		case err == nil:
			return res, nil, p.Now(), false
		case errors.Is(err, memory.ErrCrashed):
			return nil, nil, p.Now(), true
		case errors.Is(err, ErrProtocol):
			*protoErr = err
			return nil, nil, p.Now(), true
		}
		return nil, wireError(err), p.Now(), false
	}
}

func (s *remoteStrategy) answer(ctx context.Context, p *simulations.Process, sdk interface {
	reconcile.SDK
	reconcile.Identifier
	reconcile.Initializer
	reconcile.ProtectedData
}, call string, args json.RawMessage) (any, error) {
	switch call {
	case CallStatus:
		return statusResult{Status: nonNil(sdk.Status().Names())}, nil
	case CallCurrentUserID:
		u := sdk.CurrentUserID()
		if u == "" {
			return userResult{}, nil
		}
		return userResult{UserID: &u}, nil
	case CallEnvironment:
		env, region, ok := sdk.Environment()
		if !ok {
			return envResult{}, nil
		}
		e, r := string(env), string(region)
		return envResult{Environment: &e, Region: &r}, nil
	case CallInitialize:
		return struct{}{}, sdk.Initialize(ctx)
	case CallProtectedData:
		return availableResult{Available: sdk.ProtectedDataAvailable()}, nil
	case CallSignIn:
		var a tokenArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, err
		}
		return struct{}{}, sdk.SignIn(ctx, a.Token)
	case CallIdentify:
		if !p.Profile.HasIdentify {
			return nil, fmt.Errorf("%w: sdk.identifyExternalUser on %s, which has none", ErrProtocol, p.Profile.Name)
		}
		var a identifyArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, err
		}
		return struct{}{}, sdk.IdentifyWithSignInToken(ctx, a.ExternalUserID, a.Token)
	case CallSignOut:
		return struct{}{}, sdk.SignOut(ctx)
	case CallSignInToken:
		var a appUserArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, err
		}
		v, tok, err := p.Tokens.SignInToken(ctx, a.AppUserID)
		if err != nil {
			return nil, err
		}
		return tokenResult{UserID: v, SignInToken: tok}, nil
	case CallResolve:
		var a appUserArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, err
		}
		v, err := p.Tokens.ResolveVitalUser(ctx, a.AppUserID)
		if err != nil {
			return nil, err
		}
		return resolveResult{UserID: v}, nil
	case CallJournalSaved:
		var a savedArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, err
		}
		e, err := a.Entry.Reconcile()
		if err != nil {
			return nil, err
		}
		if err := e.Validate(a.Event); err != nil {
			return nil, fmt.Errorf("%w: journal.saved: %v", ErrProtocol, err)
		}
		s.reported[p.Key] = e
		if s.handing {
			return struct{}{}, nil // the world's journal holds it already
		}
		return struct{}{}, p.Journal.Save(ctx, e, a.Event)
	case CallRand:
		return randResult{Value: p.Rand()}, nil
	}
	return nil, fmt.Errorf("%w: unknown call %q", ErrProtocol, call)
}

// wireError describes a world error for the engine in reconcile's terms:
// transient (with the server's Retry-After), one of the SDK's errors by
// name, or anything else.
func wireError(err error) *WireError {
	w := &WireError{Message: err.Error()}
	var sdkErr reconcile.SDKError
	switch {
	case reconcile.IsTransient(err):
		w.Transient, w.RetryAfterMS = true, reconcile.RetryAfter(err).Milliseconds()
	case errors.As(err, &sdkErr) && sdkErr != reconcile.ErrUnknown && sdkErr != reconcile.ErrNetwork:
		w.SDKError = string(sdkErr)
	}
	return w
}

// reconcileOutcome turns an engine's outcome into reconcile's, for the
// simulations' checks.
func reconcileOutcome(w Outcome) (reconcile.Outcome, error, error) {
	out := reconcile.Outcome{Result: reconcile.Result(w.Result), State: fsm.State(w.State)}
	var err error
	if out.RetryAt, err = parseTime(w.RetryAt); err != nil {
		return out, nil, fmt.Errorf("%w: outcome retry_at: %v", ErrProtocol, err)
	}
	if out.Interrupted, err = w.Interrupted.Reconcile(); err != nil {
		return out, nil, fmt.Errorf("%w: outcome interrupted: %v", ErrProtocol, err)
	}
	if w.Divergence != nil {
		out.Divergence = &reconcile.Divergence{Expected: fsm.State(w.Divergence.Expected), Observed: fsm.State(w.Divergence.Observed)}
	}
	for i, wp := range w.Passes {
		var pass reconcile.Pass
		if len(wp.Observation) > 0 {
			if pass.Observation, err = reconcile.ParseObservation(wp.Observation); err != nil {
				return out, nil, fmt.Errorf("%w: pass %d's observation: %v", ErrProtocol, i+1, err)
			}
		}
		pass.Plan = reconcile.Plan{Terminal: wp.Plan.Terminal, Defer: wp.Plan.Deferred,
			Observed: fsm.State(wp.Observed), Discrepancy: reconcile.Discrepancy(wp.Discrepancy)}
		if pass.Plan.RetryAt, err = parseTime(wp.Plan.RetryAt); err != nil {
			return out, nil, fmt.Errorf("%w: pass %d's retry_at: %v", ErrProtocol, i+1, err)
		}
		for _, a := range wp.Plan.Actions {
			ra, err := a.Reconcile()
			if err != nil {
				return out, nil, fmt.Errorf("%w: pass %d: %v", ErrProtocol, i+1, err)
			}
			pass.Plan.Actions = append(pass.Plan.Actions, ra)
		}
		for _, st := range wp.Applied {
			ra, err := st.Action.Reconcile()
			if err != nil {
				return out, nil, fmt.Errorf("%w: pass %d: %v", ErrProtocol, i+1, err)
			}
			step := reconcile.Step{Action: ra}
			if st.Error != nil {
				step.Class, step.SDKError = reconcile.ErrorClass(st.Error.Class), reconcile.SDKError(st.Error.SDKError)
				step.Err = fmt.Errorf("%s (%s)", st.Error.Class, st.Error.SDKError)
			}
			pass.Applied = append(pass.Applied, step)
		}
		out.Passes = append(out.Passes, pass)
	}
	var runErr error
	if w.Error != nil {
		if w.Error.Class == "no-convergence" {
			runErr = reconcile.ErrNoConvergence
		} else {
			a, err := w.Error.Action.Reconcile()
			if err != nil {
				return out, nil, fmt.Errorf("%w: outcome error: %v", ErrProtocol, err)
			}
			runErr = &reconcile.RunError{Action: a, Class: reconcile.ErrorClass(w.Error.Class), RetryAt: out.RetryAt}
		}
	}
	return out, runErr, nil
}
