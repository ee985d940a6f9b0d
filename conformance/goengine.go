package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/internal/atomicfile"
	"github.com/vitalsync/vitalsync/reconcile"
)

// EngineOptions configure the Go engine.
type EngineOptions struct {
	// Version is reported by hello.
	Version string
	// Mutation, for the harness's own tests only, removes one planner rule
	// from the engine's plan command (MutationNames lists them), so that a
	// test can show the harness fails such an engine, naming the case. The
	// launch command runs reconcile's Runner, which calls reconcile's own
	// planner, and is unchanged.
	Mutation string
}

// MutationNoAlreadySignedIn removes the rule "alreadySignedIn while the
// status shows no session: sign out, then sign in": the plan signs in
// only, as it would without the previous error.
const MutationNoAlreadySignedIn = "no-already-signed-in-rule"

// MutationMemoryJournal keeps the journal in the process's memory only,
// so that a kill loses it: the crash suite must fail such an engine.
const MutationMemoryJournal = "memory-journal"

// MutationNoSignOut makes the engine's sign-out succeed without calling
// the SDK, so that a session it means to end stays: the runner, crash and
// fleet suites must fail such an engine.
const MutationNoSignOut = "no-sign-out"

// MutationNames lists the Go engine's test-only mutations.
func MutationNames() []string {
	return []string{MutationNoAlreadySignedIn, MutationMemoryJournal, MutationNoSignOut}
}

// ServeEngine runs vitalsync's own reconcile package as an engine of the
// protocol, reading commands from in and writing to out until in ends.
func ServeEngine(ctx context.Context, in io.Reader, out io.Writer, opts EngineOptions) error {
	if opts.Mutation != "" && !slices.Contains(MutationNames(), opts.Mutation) {
		return fmt.Errorf("conformance: unknown mutation %q", opts.Mutation)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	c := &engineConn{sc: sc, w: bufio.NewWriter(out)}
	if opts.Mutation == MutationMemoryJournal {
		c.memory = map[string][]byte{}
	}
	c.noSignOut = opts.Mutation == MutationNoSignOut
	for {
		var m message
		if err := c.read(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.Cmd == "" || m.ID == nil {
			return fmt.Errorf("%w: expected a command, got %s", ErrProtocol, c.last)
		}
		if err := c.setNow(m.Now); err != nil {
			return err
		}
		res, err := serveCommand(ctx, c, &m, opts)
		if c.dead != nil {
			return c.dead
		}
		reply := message{Reply: m.ID}
		if err != nil {
			reply.Error = &WireError{Message: err.Error()}
		} else if reply.Result, err = json.Marshal(res); err != nil {
			return err
		}
		if err := c.write(reply); err != nil {
			return err
		}
	}
}

func serveCommand(ctx context.Context, c *engineConn, m *message, opts EngineOptions) (any, error) {
	raw := c.lastRaw
	switch m.Cmd {
	case CmdHello:
		return Hello{Name: "vitalsync-go", Version: opts.Version, Protocol: ProtocolVersion,
			Capabilities: []string{CapPlan, CapDecode, CapLaunch, CapRecord}}, nil
	case CmdPlan:
		var req PlanRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return planCommand(req, opts), nil
	case CmdLaunch:
		var req LaunchRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return launchCommand(ctx, c, req)
	case CmdRecord:
		var req RecordRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		e, ok := reconcile.ParseSDKError(req.SDKError)
		if !ok {
			return nil, fmt.Errorf("unknown SDK error %q", req.SDKError)
		}
		j := &fileJournal{path: req.Journal, c: c}
		return struct{}{}, reconcile.RecordSDKError(ctx, j, fmt.Errorf("recorded by the app: %w", e))
	case CmdJournalPut:
		var req JournalRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		if req.Entry == nil {
			return nil, errors.New("journal.put needs an entry")
		}
		e, err := req.Entry.Reconcile()
		if err != nil {
			return nil, err
		}
		return struct{}{}, (&fileJournal{path: req.Journal, c: c}).write(e)
	case CmdJournalGet:
		var req JournalRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		e, err := (&fileJournal{path: req.Journal, c: c}).Load(ctx)
		if err != nil {
			return nil, err
		}
		return JournalResult{Entry: EntryOf(e)}, nil
	}
	return nil, fmt.Errorf("unknown command %q", m.Cmd)
}

// planCommand plans one observation with reconcile's planner.
func planCommand(req PlanRequest, opts EngineOptions) PlanResult {
	doc := []byte(req.Observation)
	if req.ObservationText != nil {
		doc = []byte(*req.ObservationText)
	}
	o, err := reconcile.ParseObservation(doc)
	if err != nil {
		field := "(document)"
		var fe *reconcile.FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		return PlanResult{Invalid: &Invalid{Field: field}}
	}
	o.Profile = req.ProfileOverrides.Apply(o.Profile)
	p := o.Plan()
	if opts.Mutation == MutationNoAlreadySignedIn && p.Discrepancy == reconcile.AlreadySignedInConflict && len(p.Actions) > 1 {
		p.Actions, p.Discrepancy = p.Actions[1:], reconcile.SDKSignedOut
	}
	wp := PlanOf(p)
	return PlanResult{Observed: string(p.Observed), Discrepancy: string(p.Discrepancy), Plan: &wp}
}

// launchCommand runs one launch of reconcile's Runner against the world.
func launchCommand(ctx context.Context, c *engineConn, req LaunchRequest) (Outcome, error) {
	p, ok := fsm.ParseProfile(req.Profile)
	if !ok {
		return Outcome{}, fmt.Errorf("unknown profile %q", req.Profile)
	}
	p = req.ProfileOverrides.Apply(p)
	if !req.SDK.Identify {
		// The world's SDK has no identifyExternalUser (an app that cannot
		// call it): the planner applies every token action through signIn.
		p.HasIdentify = false
	}
	app := reconcile.AppSession{SignedIn: req.App.SignedIn, AppUserID: req.App.AppUserID,
		VitalUserID: req.App.VitalUserID, Environment: fsm.Environment(req.App.Environment),
		Region: fsm.Region(req.App.Region)}
	r, err := reconcile.NewRunner(reconcile.Config{
		Profile: p, SDK: newRPCSDK(c, req.SDK), Tokens: rpcTokens{c}, Journal: &fileJournal{path: req.Journal, c: c},
		App: func() reconcile.AppSession { return app },
		Now: func() time.Time { return c.now },
		Rand: func() float64 {
			var r randResult
			if err := c.call(CallRand, nil, &r); err != nil {
				return 0
			}
			return r.Value
		},
		Backoff: reconcile.Backoff{Base: time.Duration(req.Config.Backoff.BaseMS) * time.Millisecond,
			Cap: time.Duration(req.Config.Backoff.CapMS) * time.Millisecond, Jitter: req.Config.Backoff.Jitter},
		AllowAPIKey:     req.Config.AllowAPIKey,
		ResolveInterval: time.Duration(req.Config.ResolveIntervalMS) * time.Millisecond,
	})
	if err != nil {
		return Outcome{}, err
	}
	out, err := r.Run(ctx)
	w := OutcomeOf(out)
	if err != nil {
		var re *reconcile.RunError
		switch {
		case errors.As(err, &re):
			w.Error = &RunErr{Class: string(re.Class), Action: ActionOf(re.Action)}
		case errors.Is(err, reconcile.ErrNoConvergence):
			w.Error = &RunErr{Class: "no-convergence"}
		default:
			return Outcome{}, err
		}
	}
	return w, nil
}

// OutcomeOf returns a reconcile outcome's JSON form (its error aside).
func OutcomeOf(out reconcile.Outcome) Outcome {
	w := Outcome{Result: string(out.Result), State: string(out.State), RetryAt: timeString(out.RetryAt),
		Interrupted: ActionOf(out.Interrupted), Passes: []OutcomePass{}}
	if out.Divergence != nil {
		w.Divergence = &Divergence{Expected: string(out.Divergence.Expected), Observed: string(out.Divergence.Observed)}
	}
	for _, p := range out.Passes {
		obs, err := json.Marshal(p.Observation)
		if err != nil {
			obs = nil
		}
		op := OutcomePass{Observation: obs, Observed: string(p.Plan.Observed), Discrepancy: string(p.Plan.Discrepancy),
			Plan: PlanOf(p.Plan), Applied: []StepResult{}}
		for _, st := range p.Applied {
			sr := StepResult{Action: *ActionOf(st.Action)}
			if st.Err != nil {
				sr.Error = &StepError{Class: string(st.Class), SDKError: string(st.SDKError)}
			}
			op.Applied = append(op.Applied, sr)
		}
		w.Passes = append(w.Passes, op)
	}
	return w
}

// engineConn is the engine's end of the protocol.
type engineConn struct {
	sc      *bufio.Scanner
	w       *bufio.Writer
	last    string
	lastRaw json.RawMessage
	nextID  int64
	now     time.Time
	// dead is set when the harness is gone: nothing more is written, to
	// the journal or the pipe.
	dead error
	// memory holds the journals instead of their files (MutationMemoryJournal).
	memory map[string][]byte
	// noSignOut: MutationNoSignOut.
	noSignOut bool
}

func (c *engineConn) read(m *message) error {
	if !c.sc.Scan() {
		if err := c.sc.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	c.last = c.sc.Text()
	c.lastRaw = append(c.lastRaw[:0], c.sc.Bytes()...)
	if err := json.Unmarshal(c.lastRaw, m); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return nil
}

func (c *engineConn) write(m message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.w.Write(data)
	c.w.WriteByte('\n')
	return c.w.Flush()
}

func (c *engineConn) setNow(s string) error {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%w: now %q: %v", ErrProtocol, s, err)
	}
	c.now = t
	return nil
}

// call makes one call into the world and decodes its result into res.
func (c *engineConn) call(name string, args, res any) error {
	if c.dead != nil {
		return c.dead
	}
	c.nextID++
	id := c.nextID
	m := message{ID: &id, Call: name}
	if args != nil {
		data, err := json.Marshal(args)
		if err != nil {
			return err
		}
		m.Args = data
	}
	if err := c.write(m); err != nil {
		c.dead = err
		return err
	}
	var a message
	if err := c.read(&a); err != nil {
		c.dead = fmt.Errorf("conformance: the harness is gone: %w", err)
		return c.dead
	}
	if a.Answer == nil || *a.Answer != id {
		c.dead = fmt.Errorf("%w: expected the answer to call %d, got %s", ErrProtocol, id, c.last)
		return c.dead
	}
	if err := c.setNow(a.Now); err != nil {
		c.dead = err
		return err
	}
	if a.Error != nil {
		return goError(a.Error)
	}
	if res != nil && len(a.Result) > 0 {
		if err := json.Unmarshal(a.Result, res); err != nil {
			return fmt.Errorf("%w: %s's result: %v", ErrProtocol, name, err)
		}
	}
	return nil
}

// goError turns an error answer into the errors reconcile classifies.
func goError(w *WireError) error {
	switch {
	case w.Transient:
		return transientError{msg: w.Message, after: time.Duration(w.RetryAfterMS) * time.Millisecond}
	case w.SDKError != "":
		if e, ok := reconcile.ParseSDKError(w.SDKError); ok && e != reconcile.NoSDKError {
			return fmt.Errorf("%s: %w", w.Message, e)
		}
	}
	return errors.New(w.Message)
}

type transientError struct {
	msg   string
	after time.Duration
}

func (e transientError) Error() string                 { return e.msg }
func (e transientError) Transient() bool               { return true }
func (e transientError) RetryAfterHint() time.Duration { return e.after }

// rpcSDK is the world's SDK, through calls. The optional calls the world
// has are the wrapper types below, so that the runner's type assertions
// see exactly them.
type rpcSDK struct{ c *engineConn }

func (s rpcSDK) Status() fsm.Status {
	var r statusResult
	if err := s.c.call(CallStatus, nil, &r); err != nil {
		return 0
	}
	st, err := fsm.ParseStatus(r.Status)
	if err != nil {
		return 0
	}
	return st
}

func (s rpcSDK) CurrentUserID() string {
	var r userResult
	if err := s.c.call(CallCurrentUserID, nil, &r); err != nil || r.UserID == nil {
		return ""
	}
	return *r.UserID
}

func (s rpcSDK) Environment() (fsm.Environment, fsm.Region, bool) {
	var r envResult
	if err := s.c.call(CallEnvironment, nil, &r); err != nil || r.Environment == nil || *r.Environment == "" {
		return "", "", false
	}
	region := ""
	if r.Region != nil {
		region = *r.Region
	}
	return fsm.Environment(*r.Environment), fsm.Region(region), true
}

func (s rpcSDK) SignIn(ctx context.Context, tok string) error {
	return s.c.call(CallSignIn, tokenArgs{Token: tok}, nil)
}

func (s rpcSDK) SignOut(ctx context.Context) error {
	if s.c.noSignOut {
		return nil
	}
	return s.c.call(CallSignOut, nil, nil)
}

func (s rpcSDK) identify(ext, tok string) error {
	return s.c.call(CallIdentify, identifyArgs{ExternalUserID: ext, Token: tok}, nil)
}

func (s rpcSDK) initialize() error { return s.c.call(CallInitialize, nil, nil) }

func (s rpcSDK) protectedData() bool {
	var r availableResult
	if err := s.c.call(CallProtectedData, nil, &r); err != nil {
		return true
	}
	return r.Available
}

type (
	sdkI   struct{ rpcSDK }
	sdkN   struct{ rpcSDK }
	sdkP   struct{ rpcSDK }
	sdkIN  struct{ rpcSDK }
	sdkIP  struct{ rpcSDK }
	sdkNP  struct{ rpcSDK }
	sdkINP struct{ rpcSDK }
)

func (s sdkI) IdentifyWithSignInToken(_ context.Context, e, t string) error  { return s.identify(e, t) }
func (s sdkIN) IdentifyWithSignInToken(_ context.Context, e, t string) error { return s.identify(e, t) }
func (s sdkIP) IdentifyWithSignInToken(_ context.Context, e, t string) error { return s.identify(e, t) }
func (s sdkINP) IdentifyWithSignInToken(_ context.Context, e, t string) error {
	return s.identify(e, t)
}
func (s sdkN) Initialize(context.Context) error   { return s.initialize() }
func (s sdkIN) Initialize(context.Context) error  { return s.initialize() }
func (s sdkNP) Initialize(context.Context) error  { return s.initialize() }
func (s sdkINP) Initialize(context.Context) error { return s.initialize() }
func (s sdkP) ProtectedDataAvailable() bool       { return s.protectedData() }
func (s sdkIP) ProtectedDataAvailable() bool      { return s.protectedData() }
func (s sdkNP) ProtectedDataAvailable() bool      { return s.protectedData() }
func (s sdkINP) ProtectedDataAvailable() bool     { return s.protectedData() }

func newRPCSDK(c *engineConn, calls SDKCalls) reconcile.SDK {
	s := rpcSDK{c}
	switch {
	case calls.Identify && calls.Initialize && calls.ProtectedData:
		return sdkINP{s}
	case calls.Identify && calls.Initialize:
		return sdkIN{s}
	case calls.Identify && calls.ProtectedData:
		return sdkIP{s}
	case calls.Initialize && calls.ProtectedData:
		return sdkNP{s}
	case calls.Identify:
		return sdkI{s}
	case calls.Initialize:
		return sdkN{s}
	case calls.ProtectedData:
		return sdkP{s}
	}
	return s
}

type rpcTokens struct{ c *engineConn }

func (t rpcTokens) SignInToken(ctx context.Context, appUser string) (string, string, error) {
	var r tokenResult
	if err := t.c.call(CallSignInToken, appUserArgs{AppUserID: appUser}, &r); err != nil {
		return "", "", err
	}
	return r.UserID, r.SignInToken, nil
}

func (t rpcTokens) ResolveVitalUser(ctx context.Context, appUser string) (string, error) {
	var r resolveResult
	if err := t.c.call(CallResolve, appUserArgs{AppUserID: appUser}, &r); err != nil {
		return "", err
	}
	return r.UserID, nil
}

// fileJournal keeps one installation's entry in a JSON file, replaced
// atomically (a temporary file, synced, renamed over the old one), and
// reports each write to the harness once it is durable.
type fileJournal struct {
	path string
	c    *engineConn
}

func (j *fileJournal) Load(context.Context) (reconcile.JournalEntry, error) {
	data, err := os.ReadFile(j.path)
	if j.c.memory != nil {
		data, err = j.c.memory[j.path], nil
		if data == nil {
			err = os.ErrNotExist
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return reconcile.JournalEntry{}, nil
	}
	if err != nil {
		return reconcile.JournalEntry{}, err
	}
	var w JournalEntry
	if err := json.Unmarshal(data, &w); err != nil {
		return reconcile.JournalEntry{}, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return w.Reconcile()
}

func (j *fileJournal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	if err := e.Validate(event); err != nil {
		return err
	}
	if err := j.write(e); err != nil {
		return err
	}
	return j.c.call(CallJournalSaved, savedArgs{Entry: EntryOf(e), Event: event}, nil)
}

func (j *fileJournal) write(e reconcile.JournalEntry) error {
	if j.c.dead != nil {
		return j.c.dead
	}
	if j.path == "" {
		return errors.New("journal path is required")
	}
	data, err := json.Marshal(EntryOf(e))
	if err != nil {
		return err
	}
	if j.c.memory != nil {
		j.c.memory[j.path] = data
		return nil
	}
	return atomicfile.Write(j.path, data)
}
