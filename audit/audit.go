package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Class is why an installation was counted where it was: one of the
// planner's discrepancy names, or a class only the backend can see. Its
// value is a stable string.
type Class string

// The classes the backend sees and a device cannot.
const (
	// MappingMismatch: the app is signed in, the SDK holds a session, and
	// its Vital user is not the app user's current mapping (or the app user
	// has none). Android 4.2.1–4.2.2 never detects a deleted user; only the
	// backend knows.
	MappingMismatch Class = "mapping-mismatch"
	// MappedUserMissing: the team API says the app user's mapped Vital user
	// does not exist (--check-api).
	MappedUserMissing Class = "mapped-user-missing"
	// Stale: the report is older than Options.Stale.
	Stale Class = "stale"
	// FutureReport: the report's reported_at lies more than FutureSkew
	// after the audit's Now: a device clock far ahead, or a forged report.
	FutureReport Class = "future-report"
	// DuplicateInstallation: a row whose installation_id an earlier row of
	// the source already holds. It is counted here only (not planned), so
	// that each installation counts once; a store keyed by installation
	// holds none.
	DuplicateInstallation Class = "duplicate-installation"
	// UnknownProfile: no profile models the report's platform and version.
	UnknownProfile Class = "unknown-profile"
	// Invalid: a malformed row, or an impossible observation.
	Invalid Class = Class(reconcile.Invalid)
)

// severity orders every class, worst first: wrong-user installations lead,
// as a possible misattribution of health data. A planner class not named
// here (one added to reconcile later) ranks just before backing-off, so
// that it is counted and shown, never dropped.
var severity = func() []Class {
	head := []Class{
		Class(reconcile.WrongUser), MappingMismatch, MappedUserMissing, FutureReport, Class(reconcile.APIKeyIncompatible),
		Class(reconcile.UserDeletedDiscrepancy), Class(reconcile.AppSignedOut), Class(reconcile.SDKSignedOut),
		Class(reconcile.ReauthNeeded), Class(reconcile.APIKeyMode), Class(reconcile.AlreadySignedInConflict),
		Class(reconcile.MigrationNotTaken), Class(reconcile.Diverged), Class(reconcile.VitalUserUnknown),
	}
	tail := []Class{Class(reconcile.BackingOff), Invalid, DuplicateInstallation, UnknownProfile, Stale, Class(reconcile.Consistent)}
	for _, d := range reconcile.Discrepancies() {
		if !slices.Contains(head, Class(d)) && !slices.Contains(tail, Class(d)) {
			head = append(head, Class(d))
		}
	}
	return append(head, tail...)
}()

// Classes returns every class, worst first.
func Classes() []Class { return append([]Class(nil), severity...) }

// ParseClass parses a class name.
func ParseClass(s string) (Class, bool) {
	for _, c := range severity {
		if string(c) == s {
			return c, true
		}
	}
	return "", false
}

// rank is a class's position in severity.
func rank(c Class) int {
	for i, s := range severity {
		if s == c {
			return i
		}
	}
	return len(severity)
}

// UnknownProfileName is the profile a row without one is counted under.
const UnknownProfileName = "unknown"

// Options configure Run.
type Options struct {
	// Now is the audit's time, for Stale; zero: time.Now().
	Now time.Time
	// Stale, when positive, puts reports older than Now−Stale in Stale.
	Stale time.Duration
	// Shard and Shards select a deterministic hash partition of the
	// installations: shard Shard (0 ≤ Shard < Shards) of Shards. Shards 0 or
	// 1 audits every row. A malformed row without an installation ID falls
	// in shard 0.
	Shard, Shards int
	// Checker, when set, verifies every mapped Vital user with the team
	// API, Concurrency at a time (default 8), before the audit: the source
	// is then read twice, and the set of mapped users is held in memory.
	Checker     UserChecker
	Concurrency int
	// Progress, when set, is called with the rows read so far, every
	// ProgressEvery rows and once at the end.
	Progress func(rows int64)
	// AllowAPIKey plans as a sandbox evaluation does: a matching API-key
	// session is consistent.
	AllowAPIKey bool
	// NoDuplicateCheck keeps no set of the installations read, for a file
	// known to hold each once: memory then stays flat whatever the rows,
	// and a duplicate is audited as any row. Sources keyed by installation
	// (RecordSource.Unique) never keep one.
	NoDuplicateCheck bool
	// Workers is how many goroutines parse and plan the rows of a source
	// that can split its input (CSVSource); 0: GOMAXPROCS. With more than
	// one, findings reach the sink in no fixed order (the sink is called
	// by one goroutine at a time).
	Workers int
}

// parallelSource is a Source that can split its rows among goroutines:
// each fn is called from its own goroutine with a part of the rows.
type parallelSource interface {
	eachParallel(ctx context.Context, fns []func(*Row) error) error
}

// ProgressEvery is how often Options.Progress is called, in rows.
const ProgressEvery = 1 << 16

// Summary is an audit's counts. An installation counts once under its
// planner class (or invalid, or unknown-profile) and once more under each
// backend class it is in (mapping-mismatch, mapped-user-missing, stale), so
// the classes can add up to more than Rows. Actions counts the planned
// actions by type. Summaries of shards add up (Merge).
type Summary struct {
	Rows             int64                                     `json:"rows"`
	Classes          map[Class]int64                           `json:"classes"`
	ByProfile        map[string]map[Class]int64                `json:"by_profile"`
	Actions          map[reconcile.ActionType]int64            `json:"actions"`
	ActionsByProfile map[string]map[reconcile.ActionType]int64 `json:"actions_by_profile"`
	Seconds          float64                                   `json:"seconds"`
	RowsPerSecond    float64                                   `json:"rows_per_second"`
}

// Count returns the installations in class c.
func (s *Summary) Count(c Class) int64 { return s.Classes[c] }

// Merge adds o's counts to s. Seconds becomes the longer of the two (shards
// run side by side) and RowsPerSecond the merged rows over it.
func (s *Summary) Merge(o Summary) {
	s.Rows += o.Rows
	s.Classes = addCounts(s.Classes, o.Classes)
	s.Actions = addCounts(s.Actions, o.Actions)
	if s.ByProfile == nil {
		s.ByProfile = map[string]map[Class]int64{}
	}
	for p, m := range o.ByProfile {
		s.ByProfile[p] = addCounts(s.ByProfile[p], m)
	}
	if s.ActionsByProfile == nil {
		s.ActionsByProfile = map[string]map[reconcile.ActionType]int64{}
	}
	for p, m := range o.ActionsByProfile {
		s.ActionsByProfile[p] = addCounts(s.ActionsByProfile[p], m)
	}
	s.Seconds = max(s.Seconds, o.Seconds)
	if s.Seconds > 0 {
		s.RowsPerSecond = float64(s.Rows) / s.Seconds
	}
}

func addCounts[K comparable](a, b map[K]int64) map[K]int64 {
	if a == nil {
		a = map[K]int64{}
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}

// Finding is an installation that needs action or is invalid: every row
// whose class is not consistent.
type Finding struct {
	// InstallationID is "" for a malformed row that has none; Line names it.
	InstallationID string
	Line           int64
	Profile        string
	// Class is the worst of Classes, which lists every class the
	// installation is in.
	Class   Class
	Classes []Class
	// Actions is what the planner would apply (empty when there is nothing
	// to apply yet, or the row is invalid).
	Actions []reconcile.Action
	// Reason says why, for people; it never holds a token.
	Reason string
}

type wireAction struct {
	Type        reconcile.ActionType `json:"type"`
	VitalUserID string               `json:"vital_user_id,omitempty"`
	AppUserID   string               `json:"app_user_id,omitempty"`
}

type wireFinding struct {
	InstallationID string       `json:"installation_id"`
	Line           int64        `json:"line,omitempty"`
	Profile        string       `json:"profile"`
	Class          Class        `json:"class"`
	Classes        []Class      `json:"classes"`
	Actions        []wireAction `json:"actions"`
	Reason         string       `json:"reason"`
}

// MarshalJSON encodes {"installation_id","profile","class","classes",
// "actions":[{"type","vital_user_id"}],"reason"} and "line" for a
// malformed row.
func (f Finding) MarshalJSON() ([]byte, error) {
	w := wireFinding{InstallationID: f.InstallationID, Profile: f.Profile, Class: f.Class,
		Classes: f.Classes, Actions: make([]wireAction, len(f.Actions)), Reason: f.Reason}
	if f.Class == Invalid {
		w.Line = f.Line
	}
	for i, a := range f.Actions {
		w.Actions[i] = toWire(a)
	}
	return json.Marshal(w)
}

func toWire(a reconcile.Action) wireAction {
	w := wireAction{Type: a.Type()}
	switch a := a.(type) {
	case reconcile.SignIn:
		w.VitalUserID = a.VitalUser
	case reconcile.Migrate:
		w.VitalUserID = a.VitalUser
	case reconcile.Reauthenticate:
		w.VitalUserID = a.VitalUser
	case reconcile.Resolve:
		w.AppUserID = a.AppUser
	}
	return w
}

// ActionsString renders actions as "sign-out; sign-in:<user>".
func ActionsString(as []reconcile.Action) string {
	parts := make([]string, len(as))
	for i, a := range as {
		w := toWire(a)
		parts[i] = string(w.Type)
		if w.VitalUserID != "" {
			parts[i] += ":" + w.VitalUserID
		} else if w.AppUserID != "" {
			parts[i] += ":" + w.AppUserID
		}
	}
	return strings.Join(parts, "; ")
}

// Sink receives the findings as they are found. A non-nil error stops the
// audit. The Finding is the sink's to keep.
type Sink func(f *Finding) error

// ErrBadOptions is returned for unusable Options.
var ErrBadOptions = errors.New("audit: invalid options")

// profileIndex numbers the profiles for the counters; the last slot is
// UnknownProfileName.
var profileNames = append(fsm.ProfileNames(), UnknownProfileName)

func profileSlot(name string) int {
	for i, n := range profileNames {
		if n == name {
			return i
		}
	}
	return len(profileNames) - 1
}

var actionTypes = []reconcile.ActionType{reconcile.TypeSignOut, reconcile.TypeSignIn, reconcile.TypeMigrate,
	reconcile.TypeReauthenticate, reconcile.TypeResolve}

func actionSlot(t reconcile.ActionType) int {
	for i, a := range actionTypes {
		if a == t {
			return i
		}
	}
	return 0
}

// counters are the audit's counts in arrays: class × profile and action ×
// profile.
type counters struct {
	rows    int64
	classes [32][32]int64
	actions [8][32]int64
}

// Run audits every row of source (or of one shard of it): each valid row
// becomes a reconcile.Observation as of its reported_at, with the backend's
// mapping as the token source's word, and is planned by the same planner
// a device runs; it is counted by class, profile and action, and when its
// class is not consistent it goes to sink (nil: discarded) as it is found.
// Malformed rows and impossible observations are counted as invalid and
// named; the audit goes on. A schema error of the source, a sink error, a
// failed check and a done ctx end the audit with an error (ctx.Err() for
// ctx). Memory does not grow with the rows (without Checker), but for the
// duplicate check of a source whose installations are not unique by
// construction (files): a map entry of 8 bytes per installation.
func Run(ctx context.Context, source Source, sink Sink, opts Options) (Summary, error) {
	if opts.Shards < 0 || (opts.Shards > 1 && (opts.Shard < 0 || opts.Shard >= opts.Shards)) {
		return Summary{}, fmt.Errorf("%w: shard %d of %d", ErrBadOptions, opts.Shard, opts.Shards)
	}
	if len(severity) > len(counters{}.classes) || len(profileNames) > len(counters{}.classes[0]) {
		panic("audit: counters too small")
	}
	start := time.Now()
	if opts.Now.IsZero() {
		opts.Now = start
	}
	var missing map[string]bool
	if opts.Checker != nil {
		var err error
		if missing, err = checkUsers(ctx, source, opts); err != nil {
			return Summary{}, err
		}
	}
	var staleBefore time.Time
	if opts.Stale > 0 {
		staleBefore = opts.Now.Add(-opts.Stale)
	}
	var seen *seenSet
	if u, ok := source.(interface{ uniqueIDs() bool }); !opts.NoDuplicateCheck && (!ok || !u.uniqueIDs()) {
		seen = newSeenSet()
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ps, parallel := source.(parallelSource)
	if !parallel {
		workers = 1
	}
	var (
		mu       sync.Mutex // serialises the sink and Progress across workers
		progress atomic.Int64
	)
	auditors := make([]*auditor, workers)
	fns := make([]func(*Row) error, workers)
	for i := range auditors {
		a := &auditor{opts: opts, sink: sink, src: source.Name(), missing: missing, staleBefore: staleBefore,
			futureAfter: opts.Now.Add(FutureSkew), seen: seen}
		if workers > 1 {
			a.opts.Progress = nil
			if opts.Progress != nil {
				a.progress = func() {
					n := progress.Add(ProgressEvery)
					mu.Lock()
					opts.Progress(n)
					mu.Unlock()
				}
			}
			if sink != nil {
				a.sink = func(f *Finding) error {
					mu.Lock()
					defer mu.Unlock()
					return sink(f)
				}
			}
		}
		auditors[i], fns[i] = a, a.row
	}
	var err error
	if parallel {
		err = ps.eachParallel(ctx, fns)
	} else {
		err = source.Each(ctx, fns[0])
	}
	if err == nil {
		err = ctx.Err()
	}
	var total counters
	for _, a := range auditors {
		total.add(&a.n)
	}
	if opts.Progress != nil {
		opts.Progress(total.rows)
	}
	s := total.summary()
	s.Seconds = time.Since(start).Seconds()
	if s.Seconds > 0 {
		s.RowsPerSecond = float64(s.Rows) / s.Seconds
	}
	return s, err
}

func (n *counters) add(o *counters) {
	n.rows += o.rows
	for i := range n.classes {
		for j := range n.classes[i] {
			n.classes[i][j] += o.classes[i][j]
		}
	}
	for i := range n.actions {
		for j := range n.actions[i] {
			n.actions[i][j] += o.actions[i][j]
		}
	}
}

func (n *counters) summary() Summary {
	s := Summary{Rows: n.rows, Classes: map[Class]int64{}, ByProfile: map[string]map[Class]int64{},
		Actions: map[reconcile.ActionType]int64{}, ActionsByProfile: map[string]map[reconcile.ActionType]int64{}}
	for ci, c := range severity {
		for pi, p := range profileNames {
			if v := n.classes[ci][pi]; v > 0 {
				s.Classes[c] += v
				if s.ByProfile[p] == nil {
					s.ByProfile[p] = map[Class]int64{}
				}
				s.ByProfile[p][c] += v
			}
		}
	}
	for ai, t := range actionTypes {
		for pi, p := range profileNames {
			if v := n.actions[ai][pi]; v > 0 {
				s.Actions[t] += v
				if s.ActionsByProfile[p] == nil {
					s.ActionsByProfile[p] = map[reconcile.ActionType]int64{}
				}
				s.ActionsByProfile[p][t] += v
			}
		}
	}
	return s
}

// class slots in severity, resolved once.
var (
	slotInvalid        = rank(Invalid)
	slotUnknownProfile = rank(UnknownProfile)
	slotStale          = rank(Stale)
	slotFuture         = rank(FutureReport)
	slotDuplicate      = rank(DuplicateInstallation)
	slotMismatch       = rank(MappingMismatch)
	slotMissing        = rank(MappedUserMissing)
	plannerSlots       = func() []discrepancySlot {
		var out []discrepancySlot
		for _, d := range reconcile.Discrepancies() {
			out = append(out, discrepancySlot{d, rank(Class(d))})
		}
		return out
	}()
)

// discrepancySlot is a planner class and its slot in severity.
type discrepancySlot struct {
	d    reconcile.Discrepancy
	slot int
}

// plannerSlot is a discrepancy's slot in severity.
func plannerSlot(d reconcile.Discrepancy) int {
	for _, p := range plannerSlots {
		if p.d == d {
			return p.slot
		}
	}
	return rank(Class(d))
}

type auditor struct {
	opts        Options
	sink        Sink
	src         string
	n           counters
	staleBefore time.Time
	futureAfter time.Time
	seen        *seenSet        // installations seen so far; nil: the source's are unique
	missing     map[string]bool // mapped Vital users the team API does not know
	progress    func()          // a worker's share of Options.Progress
	profiles    profileCache
	// entry and reading are the row's journal entry and reading for
	// reconcile.Observe, kept from row to row: observe sets only the
	// fields a row fills, so building them costs no zeroing.
	entry   reconcile.JournalEntry
	reading reconcile.Reading
}

// profileCache remembers a worker's profile lookups: a fleet holds few
// distinct profile names and (platform, SDK version) pairs, and finding
// one in a slot chosen by a hash of the key costs a fraction of deriving
// a profile (or of comparing the key with a list of them). A key that
// shares its slot with another replaces it.
type profileCache struct {
	entries [256]profileEntry
}

// profileEntry is one lookup: by name (platform and version empty), or by
// platform and version (name empty).
type profileEntry struct {
	name, platform, version string
	p                       fsm.Profile
	ok, set                 bool
}

// lookup returns the row's profile: its stored name's when set, else the
// one fsm.ProfileFor derives from its platform and version.
func (c *profileCache) lookup(name, platform, version string) (fsm.Profile, bool) {
	if name != "" {
		platform, version = "", ""
	}
	// FNV-1a over the key's three parts, each ended by a byte no part
	// holds in a valid row (a part holding it only costs a slot).
	h := uint32(2166136261)
	for _, part := range [3]string{name, platform, version} {
		for i := 0; i < len(part); i++ {
			h = (h ^ uint32(part[i])) * 16777619
		}
		h = (h ^ 0x1f) * 16777619
	}
	e := &c.entries[(h^h>>16)%uint32(len(c.entries))]
	if e.set && e.name == name && e.platform == platform && e.version == version {
		return e.p, e.ok
	}
	*e = profileEntry{name: strings.Clone(name), platform: strings.Clone(platform), version: strings.Clone(version), set: true}
	if name != "" {
		e.p, e.ok = fsm.ParseProfile(name)
	} else {
		e.p, e.ok = fsm.ProfileFor(fsm.Platform(platform), version)
	}
	return e.p, e.ok
}

// shardOf hashes an installation ID (FNV-1a, 64 bits) into one of n shards.
func shardOf(id string, n int) int {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int(h % uint64(n))
}

// ShardOf returns the shard (0 ≤ shard < shards) an installation falls in.
func ShardOf(installationID string, shards int) int {
	if shards <= 1 {
		return 0
	}
	return shardOf(installationID, shards)
}

func (a *auditor) row(r *Row) error {
	if a.opts.Shards > 1 {
		sh := 0
		if r.InstallationID != "" {
			sh = shardOf(r.InstallationID, a.opts.Shards)
		}
		if sh != a.opts.Shard {
			return nil
		}
	}
	a.n.rows++
	if a.n.rows%ProgressEvery == 0 {
		if a.opts.Progress != nil {
			a.opts.Progress(a.n.rows)
		} else if a.progress != nil {
			a.progress()
		}
	}
	if r.Err != nil {
		return a.invalid(r, UnknownProfileName, describe(a.src, r))
	}
	p, ok := a.profiles.lookup(r.Profile, r.Platform, r.SDKVersion)
	if a.seen != nil && !a.seen.add(r.InstallationID) {
		name := UnknownProfileName
		if ok {
			name = p.Name
		}
		a.n.classes[slotDuplicate][profileSlot(name)]++
		return a.emit(r, name, []int{slotDuplicate}, false, nil, "installation_id held by an earlier row of "+a.src)
	}
	stale := !a.staleBefore.IsZero() && r.ReportedAt.Before(a.staleBefore)
	future := r.ReportedAt.After(a.futureAfter)
	if !ok {
		pi := len(profileNames) - 1
		a.n.classes[slotUnknownProfile][pi]++
		if stale {
			a.n.classes[slotStale][pi]++
		}
		slots := []int{slotUnknownProfile}
		if future {
			a.n.classes[slotFuture][pi]++
			slots = append(slots, slotFuture)
		}
		return a.emit(r, UnknownProfileName, slots, stale, nil,
			"no profile for platform "+quote(r.Platform)+" version "+quote(r.SDKVersion))
	}
	mapped := r.MappedVitalUserID
	a.read(r, &p)
	o := reconcile.Observe(&a.entry, &a.reading)
	if err := o.Validate(); err != nil {
		return a.invalid(r, p.Name, "impossible observation: "+err.Error())
	}
	plan := o.Plan()
	pi := profileSlot(p.Name)
	cs := plannerSlot(plan.Discrepancy)
	a.n.classes[cs][pi]++
	for _, act := range plan.Actions {
		a.n.actions[actionSlot(act.Type())][pi]++
	}
	mismatch := r.AppSignedIn && r.SDKStatus.Has(fsm.FlagSignedIn) &&
		(mapped == "" || !reconcile.SameUser(r.SDKCurrentUserID, mapped))
	missing := mapped != "" && a.missing[mapped]
	if mismatch {
		a.n.classes[slotMismatch][pi]++
	}
	if missing {
		a.n.classes[slotMissing][pi]++
	}
	if stale {
		a.n.classes[slotStale][pi]++
	}
	if future {
		a.n.classes[slotFuture][pi]++
	}
	if plan.Discrepancy == reconcile.Consistent && !mismatch && !missing && !stale && !future {
		return nil
	}
	if a.sink == nil {
		return nil
	}
	slots := []int{cs}
	if mismatch {
		slots = append(slots, slotMismatch)
	}
	if missing {
		slots = append(slots, slotMissing)
	}
	if future {
		slots = append(slots, slotFuture)
	}
	reason := "planner: " + string(plan.Discrepancy)
	switch {
	case mismatch && mapped == "":
		reason += "; the app user has no active mapping"
	case mismatch:
		reason += "; the SDK's Vital user is not the app user's current mapping"
	}
	if missing {
		reason += "; the mapped Vital user does not exist"
	}
	if future {
		reason += "; reported_at is " + r.ReportedAt.Sub(a.opts.Now).Round(time.Second).String() + " after the audit's time"
	}
	return a.emit(r, p.Name, slots, stale, plan.Actions, reason)
}

// read sets the journal entry and the reading a row stands for, from
// which reconcile.Observe, the runner's own builder, makes the row's
// observation: the row's journal columns are the journal
// entry, and the backend's mapping is the Vital user the installation
// learned from its token source when it reported (the join is the token
// source's answer; a report does not say when its device last asked, so
// the audit plans as if it had just asked, and says what only the backend
// knows in its own classes, mapping-mismatch and mapped-user-missing). The
// SDK's environment is read only while its status has signedIn, as the
// runner reads it.
func (a *auditor) read(r *Row, p *fsm.Profile) {
	e, rd := &a.entry, &a.reading
	e.LastObserved, e.LastError, e.NextAttemptAt, e.LastResolvedAt = r.LastObserved, r.LastError, r.NextAttemptAt, r.ReportedAt
	e.AppUserID, e.VitalUserID = "", ""
	if r.AppSignedIn {
		e.AppUserID, e.VitalUserID = r.AppUserID, r.MappedVitalUserID
	}
	rd.Profile, rd.AllowAPIKey, rd.Now = *p, a.opts.AllowAPIKey, r.ReportedAt
	rd.App = reconcile.AppSession{SignedIn: r.AppSignedIn, AppUserID: r.AppUserID, VitalUserID: r.AppVitalUserID,
		Environment: r.AppEnvironment, Region: r.AppRegion}
	rd.SDK = reconcile.SDKObservation{Status: r.SDKStatus, CurrentUserID: r.SDKCurrentUserID}
	if r.SDKStatus.Has(fsm.FlagSignedIn) {
		rd.SDK.Environment, rd.SDK.Region = r.SDKEnvironment, r.SDKRegion
	}
}

func (a *auditor) invalid(r *Row, profile, reason string) error {
	a.n.classes[slotInvalid][profileSlot(profile)]++
	return a.emit(r, profile, []int{slotInvalid}, false, nil, reason)
}

// emit sends a finding with copies of the row's strings.
func (a *auditor) emit(r *Row, profile string, slots []int, stale bool, actions []reconcile.Action, reason string) error {
	if a.sink == nil {
		return nil
	}
	if stale {
		slots = append(slots, slotStale)
		reason += "; reported " + r.ReportedAt.UTC().Format(time.RFC3339)
	}
	f := &Finding{InstallationID: strings.Clone(r.InstallationID), Line: r.Line, Profile: profile,
		Actions: make([]reconcile.Action, len(actions)), Reason: strings.Clone(reason)}
	best := slots[0]
	for _, s := range slots {
		f.Classes = append(f.Classes, severity[s])
		best = min(best, s)
	}
	f.Class = severity[best]
	for i, act := range actions {
		f.Actions[i] = cloneAction(act)
	}
	return a.sink(f)
}

// cloneAction copies an action off the row's buffer, keeping how the
// planner said it is applied.
func cloneAction(a reconcile.Action) reconcile.Action {
	switch a := a.(type) {
	case reconcile.SignIn:
		a.VitalUser = strings.Clone(a.VitalUser)
		return a
	case reconcile.Migrate:
		a.VitalUser = strings.Clone(a.VitalUser)
		return a
	case reconcile.Reauthenticate:
		a.VitalUser = strings.Clone(a.VitalUser)
		return a
	case reconcile.Resolve:
		a.AppUser = strings.Clone(a.AppUser)
		return a
	}
	return a
}

func quote(s string) string { return "\"" + s + "\"" }

// FutureSkew is how far after the audit's Now a report may be dated before
// it is counted as FutureReport: the issuer's own bound (it refuses
// reports further ahead).
const FutureSkew = 5 * time.Minute

// seenSet remembers the installations a source's rows named, by a 64-bit
// hash (a false duplicate takes about 6·10^9 installations for even odds,
// and 2.7 in a million at 10^7), in shards that workers lock one at a time.
type seenSet struct {
	seed   maphash.Seed
	shards [64]seenShard
}

type seenShard struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

func newSeenSet() *seenSet {
	s := &seenSet{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]struct{}, 1024)
	}
	return s
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	k := maphash.String(s.seed, id)
	sh := &s.shards[k>>58]
	sh.mu.Lock()
	_, dup := sh.m[k]
	if !dup {
		sh.m[k] = struct{}{}
	}
	sh.mu.Unlock()
	return !dup
}
