package simulations

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The invariants, by the stable names reports and traces give a broken one.
const (
	// ViolationWrongUser: after a launch that ran with the network up, the
	// SDK holds a session of another Vital user than the app user's (or
	// of anyone while the app is signed out).
	ViolationWrongUser = "wrong-user"
	// ViolationNeedlessSignOut: a launch tore down a session that already
	// agreed with the app.
	ViolationNeedlessSignOut = "needless-sign-out"
	// ViolationAPIKeySession: after a launch with the network up, an
	// API-key session is left although policy forbids it.
	ViolationAPIKeySession = "api-key-session"
	// ViolationJournal: the journal's last observed state is not the SDK's.
	ViolationJournal = "journal-disagrees"
	// ViolationUnplanned: the runner applied an action no plan named.
	ViolationUnplanned = "unplanned-action"
	// ViolationDiverged: the SDK did not follow its state machine.
	ViolationDiverged = "diverged"
	// ViolationNoConvergence: a launch ran out of passes.
	ViolationNoConvergence = "no-convergence"
	// ViolationNotLive: faults stopped and the installation was still not
	// consistent after TailLaunches launches.
	ViolationNotLive = "not-live"
)

// Violation is one broken invariant.
type Violation struct {
	Install int    `json:"install"`
	Step    int    `json:"step"`
	At      int64  `json:"at"`
	Kind    string `json:"kind"`
	Detail  string `json:"detail,omitempty"`
}

// Record is one launch step as a trace line: its input and the world's
// answer.
type Record struct {
	Type    string `json:"type"` // "step"
	Index   int    `json:"i"`
	Install int    `json:"install"`
	// T is the virtual time the launch started at.
	T     string `json:"t"`
	Input Step   `json:"input"`
	// Applied lists the between-launch faults that took effect, and Fired
	// the network faults that struck a request.
	Applied []Fault `json:"applied,omitempty"`
	Fired   []Fault `json:"fired,omitempty"`
	// Crashed: the process died at the step's crash point (crash-journal or
	// crash-sdk).
	Crashed string `json:"crashed,omitempty"`
	// Before and After are the SDK's status flags around the launch.
	Before string `json:"before"`
	After  string `json:"after"`
	// Plan is the engine's first plan.
	Plan    string   `json:"plan,omitempty"`
	Actions []string `json:"actions,omitempty"`
	Result  string   `json:"result"`
	// Judged is the world's verdict after the launch: consistent,
	// wrong-user, data-gap or api-key (the app user's, policy aside).
	Judged     string   `json:"judged"`
	Violations []string `json:"violations,omitempty"`
}

// stepOut is what one step adds to the measures.
type stepOut struct {
	rec        Record
	violations []Violation
	before     truth
	after      truth
	launches   int
	calls      int
	mints      int
	r429       int
	needless   int
	// discrepancy is the engine's first-pass discrepancy.
	discrepancy reconcile.Discrepancy
}

// step runs step i of the device's schedule; last says it is the final
// one, after which the installation must be consistent (liveness).
func (d *device) step(ctx context.Context, i int, s Step, last bool) stepOut {
	var out stepOut
	if t := timeAt(s.At); t.After(d.clock.Now()) {
		d.clock.Set(t)
	}
	out.rec = Record{Type: "step", Index: i, Install: d.inst, T: d.clock.Now().Format(time.RFC3339), Input: s}
	d.appEvent(ctx, s.App)
	out.rec.Applied = d.between(ctx, s)
	before := d.last
	if s.App != nil || len(s.Between) > 0 || s.Sync {
		before = d.judge(ctx)
	}
	out.before = before

	// The launch: its network faults and its crash point strike it alone
	// (a fault that finds no request to strike, or a crash point beyond the
	// launch's last step, costs nothing).
	d.net.armed = append(d.net.armed[:0], s.Net...)
	d.net.fired = nil
	d.net.calls, d.net.mints, d.net.r429 = 0, 0, 0
	d.net.counting = true
	store, journal := d.store, d.journal
	p := newProc(s.Crash)
	if p != nil {
		store, journal = procStore{Store: d.store, p: p}, procJournal{Journal: d.journal, p: p}
	}
	d.net.proc = p
	d.locked = s.Locked
	launches, ls, status := d.launch(ctx, store, journal, s.Concurrent)
	d.locked = false
	d.net.counting, d.net.proc, d.net.armed = false, nil, d.net.armed[:0]
	out.rec.Fired = d.net.fired
	out.launches, out.calls, out.mints, out.r429 = launches, d.net.calls, d.net.mints, d.net.r429
	crashed := p != nil && p.crashed
	if crashed {
		out.rec.Crashed = p.class()
	}
	networkUp := len(out.rec.Fired) == 0 && !crashed && out.r429 == 0

	// A launch that applied nothing changed nothing the world judges.
	after := before
	if crashed || applied(ls) {
		after = d.judge(ctx)
	}
	out.after = after
	out.rec.Before, out.rec.After = before.status.String(), after.status.String()
	out.rec.Judged = after.verdict()
	var results []string
	for _, l := range ls {
		for _, a := range l.Applied {
			s := a.Action.String()
			if a.Err != nil {
				s += " failed"
			}
			out.rec.Actions = append(out.rec.Actions, s)
		}
		results = append(results, l.Result)
	}
	out.rec.Result = strings.Join(results, ",")
	if len(ls) > 0 && ls[0].Outcome != nil {
		first := ls[0].Outcome.First()
		out.rec.Plan = first.Plan.String()
		out.discrepancy = first.Plan.Discrepancy
	}

	// The invariants.
	bad := func(kind, detail string) {
		out.violations = append(out.violations, Violation{Install: d.inst, Step: i, At: s.At, Kind: kind, Detail: detail})
		out.rec.Violations = append(out.rec.Violations, kind)
	}
	deferredOnly := true
	for _, l := range ls {
		deferredOnly = deferredOnly && l.Result == string(reconcile.ResultDeferred)
	}
	// Every strategy is judged alike, whoever is to blame: a launch whose
	// network was up (no fault struck it, no rate limit refused it, its
	// process lived), deferred by backoff or not, leaves no session of
	// another Vital user than the app user's, and none while the app is
	// signed out. Where no strategy can do better (the package doc's
	// Limitations), every one breaks it alike.
	if networkUp && after.wrongUser {
		detail := "SDK status " + after.status.String()
		if deferredOnly {
			detail += ", launch deferred by backoff"
		}
		if s.Locked {
			detail += ", keychain locked"
		}
		bad(ViolationWrongUser, detail)
	}
	// A sign-out answering the SDK's own word that its session is dead
	// (refreshFailed: Android 4.2.1–4.2.2 cannot say why its token calls
	// fail) is not needless, whatever the backend says of the session.
	sdkSaidDead := len(ls) > 0 && ls[0].Outcome != nil &&
		ls[0].Outcome.First().Observation.LastError == reconcile.ErrRefreshFailed
	if before.consistent && before.status.Has(fsm.FlagSignedIn) && !sdkSaidDead &&
		(signedOut(ls) || before.refresh != "" && before.refresh != after.refresh) {
		out.needless = 1
		bad(ViolationNeedlessSignOut, "")
	}
	// An API-key session is left alone while a backoff defers its
	// migration: the only remedy needs the network, and signing out would
	// only trade it for a data gap.
	if networkUp && d.app.SignedIn && after.apiKey && !deferredOnly {
		bad(ViolationAPIKeySession, "")
	}
	for _, l := range ls {
		if l.Outcome == nil {
			continue
		}
		if err := l.Outcome.CheckApplied(); err != nil {
			bad(ViolationUnplanned, err.Error())
		}
		if dv := l.Outcome.Divergence; dv != nil && !hidesSignIn(d.profile, dv) {
			bad(ViolationDiverged, dv.String())
		}
		if errors.Is(l.Err, reconcile.ErrNoConvergence) {
			bad(ViolationNoConvergence, "")
		}
	}
	if len(ls) > 0 && ls[len(ls)-1].Outcome != nil && !crashed {
		switch reconcile.Result(ls[len(ls)-1].Result) {
		case reconcile.ResultApplied, reconcile.ResultNothingToDo:
			j, err := d.journal.Load(ctx)
			if err == nil {
				if st, cerr := fsm.Classify(status, j.LastObserved, d.profile); cerr != nil || st != j.LastObserved {
					bad(ViolationJournal, "journal "+string(j.LastObserved)+", SDK "+status.String())
				}
			}
		}
	}
	if last && !after.consistent {
		bad(ViolationNotLive, "SDK status "+after.status.String())
	}
	return out
}

// hidesSignIn reports the one divergence a profile is known for, which the
// state machine's table does not model: an SDK with only the deprecated
// signIn on iOS 1.4+ (Flutter on iOS, reference §1.2, §10.10) shows a
// sign-in only after the next process launch, so the launch that signed in
// observes {configured}. The runner still reports it; the next launch
// agrees.
func hidesSignIn(p fsm.Profile, dv *reconcile.Divergence) bool {
	return p.SignInNeedsRelaunch && !p.HasIdentify && dv.Expected == fsm.Token && dv.Observed == fsm.Configured
}

// applied reports whether a launch applied any action, even a failed one.
func applied(ls []LaunchResult) bool {
	for _, l := range ls {
		if len(l.Applied) > 0 {
			return true
		}
	}
	return false
}

// signedOut reports whether a launch signed the SDK out successfully.
func signedOut(ls []LaunchResult) bool {
	for _, l := range ls {
		for _, a := range l.Applied {
			if _, ok := a.Action.(reconcile.SignOut); ok && a.Err == nil {
				return true
			}
		}
	}
	return false
}

// launch starts the process on store and journal and runs the strategy,
// twice when concurrent. It returns the launches run, what they did, and
// the process's SDK status at the end.
func (d *device) launch(ctx context.Context, store vitalsdk.Store, journal reconcile.Journal, concurrent bool) (int, []LaunchResult, fsm.Status) {
	session := ""
	if d.app.SignedIn {
		session = "sim-" + d.app.User
	}
	cfg := installation.Config{Profile: d.profile, Store: store, Journal: journal, Installation: d.key(),
		IssuerURL: "http://" + issuerHost, Session: session, APIURL: "http://" + apiHost,
		AuthURL: "http://" + authHost + "/auth", LegacyAuthURL: "http://" + apiHost,
		App: d.app.Session, Transport: d.net, Timeout: -1, KeychainLocked: d.locked,
		Now: d.clock.Now, Rand: d.rnd.Float64}
	in, err := installation.Open(ctx, cfg)
	if err != nil {
		return 1, []LaunchResult{{Result: string(reconcile.ResultFailed), Err: err}}, 0
	}
	p := &Process{Profile: d.profile, Installation: in, App: &d.app,
		Tokens: issuer.NewClient(cfg.IssuerURL, session, issuer.WithHTTPClient(d.hc), issuer.WithClientClock(d.clock.Now)),
		ExternalUserID: func() string {
			st, _, _ := store.LoadDevice(ctx, d.key())
			return st.ExternalUserID
		},
		Key: d.key(), Journal: journal, Now: d.clock.Now, Rand: d.rnd.Float64}
	ls := []LaunchResult{d.strat.Launch(ctx, p)}
	if concurrent {
		ls = append(ls, d.strat.Launch(ctx, p))
	}
	return len(ls), ls, in.SDK().Status()
}

// appEvent applies the app's user's action.
func (d *device) appEvent(ctx context.Context, e *AppEvent) {
	if e == nil {
		return
	}
	switch e.Kind {
	case "sign-in":
		d.app = AppState{SignedIn: true, User: e.User}
	case "sign-out":
		d.app = AppState{}
	case "sdk-upgrade":
		if p, ok := fsm.ParseProfile(upgrade(d.profile.Name)); ok {
			d.profile = p
		}
	}
}

// between applies the faults between launches, then the app's data sync
// when one is due. It returns the faults that took effect.
func (d *device) between(ctx context.Context, s Step) []Fault {
	var applied []Fault
	sync, force := s.Sync, false
	for _, f := range s.Between {
		switch f {
		case FaultReinstall:
			d.reinstall(ctx)
			applied = append(applied, f)
		case FaultUserDeleted, FaultHerdDeletion:
			m, ok, _ := d.users.LookupUser(ctx, d.app.User)
			if d.app.SignedIn && ok && !d.deleted[strings.ToLower(m.VitalUserID)] {
				if d.emu.DeleteUser(m.VitalUserID) == nil {
					d.deleted[strings.ToLower(m.VitalUserID)] = true
					applied = append(applied, f)
				}
			}
			sync, force = true, true
		case FaultRefreshRevoked:
			m, ok, _ := d.users.LookupUser(ctx, d.app.User)
			if d.app.SignedIn && ok {
				d.emu.RevokeRefreshTokens(m.VitalUserID)
				if st, ok, _ := d.store.LoadDevice(ctx, d.key()); ok && st.Record != nil &&
					strings.EqualFold(st.Record.UserID, m.VitalUserID) {
					d.broken[strings.ToLower(m.VitalUserID)] = st.Record.RefreshToken
					applied = append(applied, f)
				}
			}
			sync, force = true, true
		case FaultTokenExpiry:
			// The access token's lifetime runs out (the clock is the
			// fleet's, so the token ages instead).
			if st, ok, _ := d.store.LoadDevice(ctx, d.key()); ok && st.Record != nil {
				st.Record.Expiry = d.clock.Now().Add(-time.Second)
				d.store.SaveDevice(ctx, st)
			}
			applied = append(applied, f)
			sync = true
		}
	}
	if sync {
		d.sync(ctx, force)
	}
	return applied
}

// sync is the app's data sync: the SDK asks for an access token, which
// refreshes an expired one; with force (the upload was refused: the user
// is gone or the session revoked) it refreshes at once. The engine's app
// hands an SDK error to its launch task (RecordSDKError), as the reconcile
// package asks apps to.
func (d *device) sync(ctx context.Context, force bool) {
	sdk, err := d.openSDK(ctx, d.store)
	if err != nil || !sdk.Status().Has(fsm.FlagSignedIn) {
		return
	}
	if force {
		err = sdk.Refresh(ctx)
	} else {
		_, err = sdk.AccessToken(ctx)
	}
	if err != nil {
		if recordsSDKErrors(d.strat) {
			reconcile.RecordSDKError(ctx, d.journal, err)
		}
	}
}

// recordsSDKErrors reports whether the strategy's app hands the SDK errors
// it meets to its launch task: the engine's, and a strategy that says so
// (RecordsSDKErrors, the conformance harness's engine process).
func recordsSDKErrors(s Strategy) bool {
	if _, ok := s.(Engine); ok {
		return true
	}
	r, ok := s.(interface{ RecordsSDKErrors() bool })
	return ok && r.RecordsSDKErrors()
}

// reinstall removes and reinstalls the app: its session and journal are
// gone, and the SDK's state is what the platform keeps (reference §10.5):
// iOS ≤1.3 keeps its keychain items, so the SDK comes back signed in;
// iOS 1.4+ wipes both; Android keeps its auth record and loses the
// external user ID.
func (d *device) reinstall(ctx context.Context) {
	d.app = AppState{}
	d.journal.Save(ctx, reconcile.JournalEntry{}, "app reinstalled")
	switch {
	case d.profile.Platform == fsm.IOS && d.profile.ConfigurePersists:
	case d.profile.Platform == fsm.IOS:
		d.store.DeleteDevice(ctx, d.key())
	default:
		if st, ok, _ := d.store.LoadDevice(ctx, d.key()); ok {
			st.ExternalUserID = ""
			d.store.SaveDevice(ctx, st)
		}
	}
}
