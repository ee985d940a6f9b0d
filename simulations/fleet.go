package simulations

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Config is a run.
type Config struct {
	// Seed decides everything: knobs, schedules, identifiers, jitter.
	Seed uint64
	// Installs and Launches size the fleet; Launches excludes the
	// TailLaunches of the liveness phase.
	Installs, Launches int
	// Faults are the classes the seed's swarm draws from (nil: all);
	// NoSwarm turns every one of them on instead.
	Faults  []Fault
	NoSwarm bool
	// Strategies to compare (nil: all), Profiles the installations run
	// (nil: all).
	Strategies []Strategy
	Profiles   []fsm.Profile
	// SQLiteFraction of the installations keep their device store and
	// journal in a real SQLite file, under Dir (a temporary directory when
	// empty).
	SQLiteFraction float64
	Dir            string
	// BackendRate is the fleet backend's capacity in requests per virtual
	// second to the Junction hosts (0: FleetRate of Installs); PerInstall
	// gives every installation a backend of its own, without a rate limit,
	// instead of one for the fleet.
	BackendRate float64
	PerInstall  bool
	// Buckets is the number of virtual-time buckets of the consistency
	// series (0: 50).
	Buckets int
	// Progress, when set, is called after each installation finishes, with
	// the strategy's name and the count done.
	Progress func(strategy string, done, total int)
	// Reports, when set, receives each installation's final installation
	// report under the first strategy (the engine's, by default), in the
	// public report schema joined with the backend's mapping (ReportWriter
	// writes them as JSONL for `vitalsync audit --jsonl`).
	Reports func(row map[string]any) error
}

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("simulations: invalid configuration")

func (c *Config) fill() error {
	if c.Installs <= 0 || c.Launches <= 0 {
		return ErrConfig
	}
	if c.Faults == nil {
		c.Faults = Faults()
	}
	if c.Strategies == nil {
		c.Strategies = Strategies()
	}
	if c.Profiles == nil {
		c.Profiles = fsm.Profiles()
	}
	if len(c.Strategies) == 0 || len(c.Profiles) == 0 || c.SQLiteFraction < 0 || c.SQLiteFraction > 1 {
		return ErrConfig
	}
	if c.Buckets <= 0 {
		c.Buckets = 50
	}
	return nil
}

// FleetReport is a fleet run's result, per strategy (an installation's own
// report to its backend is issuer.Report).
type FleetReport struct {
	Seed       uint64          `json:"seed"`
	Installs   int             `json:"installs"`
	Launches   int             `json:"launches"`
	Knobs      Knobs           `json:"knobs"`
	Strategies []StrategyStats `json:"strategies"`
	Coverage   Coverage        `json:"coverage"`
	// BucketSeconds is the width of a Series bucket.
	BucketSeconds int64 `json:"bucket_seconds"`
}

// StrategyStats are one strategy's measures over the fleet.
type StrategyStats struct {
	Name string `json:"name"`
	// ConsistentPct is the share of installations consistent at the end.
	ConsistentPct float64 `json:"consistent_pct"`
	// Launches and virtual seconds from an installation turning
	// inconsistent to consistent again, over every such episode.
	LaunchesToConvergeP50 float64 `json:"launches_to_converge_p50"`
	LaunchesToConvergeP99 float64 `json:"launches_to_converge_p99"`
	SecondsToConvergeP50  float64 `json:"seconds_to_converge_p50"`
	SecondsToConvergeP99  float64 `json:"seconds_to_converge_p99"`
	// Unconverged counts episodes still open at the end.
	Unconverged int `json:"unconverged"`
	// WrongUserSeconds: health data attributed to another Vital user;
	// DataGapSeconds: the app signed in, the SDK not syncing for its user.
	WrongUserSeconds float64 `json:"wrong_user_seconds"`
	// WrongUserAfterCrashSeconds is the part of WrongUserSeconds charged
	// from a launch whose process crashed until the next launch.
	WrongUserAfterCrashSeconds float64 `json:"wrong_user_after_crash_seconds"`
	// WrongUserWorstInstallSeconds is the most wrong-user seconds of any
	// one installation.
	WrongUserWorstInstallSeconds float64 `json:"wrong_user_worst_install_seconds"`
	DataGapSeconds               float64 `json:"data_gap_seconds"`
	NeedlessSignOuts             int     `json:"needless_sign_outs"`
	MintsPer1000Launches         float64 `json:"mints_per_1000_launches"`
	NetworkCallsPerLaunch        float64 `json:"network_calls_per_launch"`
	RateLimited                  int     `json:"rate_limited_429s"`
	LaunchCount                  int     `json:"launch_count"`
	// ViolationCount counts every broken invariant; Violations lists the
	// first ones (at most 50), in virtual-time order.
	ViolationCount int         `json:"violation_count"`
	Violations     []Violation `json:"violations"`
	// Series is the share of launches that left their installation
	// consistent, per virtual-time bucket (-1: no launch in it).
	Series []float64 `json:"series"`
	// SeriesLaunches counts the launches in each bucket of Series.
	SeriesLaunches []int `json:"series_launches"`
	// ByProfile breaks the measures down by the SDK profile the
	// installations started on, in the order of fsm.Profiles.
	ByProfile []ProfileStats `json:"by_profile"`

	convLaunches, convSeconds []float64
	seriesOK, seriesN         []int
}

// ProfileStats are a strategy's measures over the installations that
// started on one SDK profile.
type ProfileStats struct {
	Profile          string  `json:"profile"`
	Installs         int     `json:"installs"`
	ConsistentPct    float64 `json:"consistent_pct"`
	WrongUserSeconds float64 `json:"wrong_user_seconds"`
	// WrongUserWorstInstallSeconds is the most of any one installation.
	WrongUserWorstInstallSeconds float64 `json:"wrong_user_worst_install_seconds"`
	DataGapSeconds               float64 `json:"data_gap_seconds"`
	NeedlessSignOuts             int     `json:"needless_sign_outs"`
	MintsPer1000Launches         float64 `json:"mints_per_1000_launches"`
	ViolationCount               int     `json:"violation_count"`

	consistent, launches, mints int
}

// Coverage says which enabled fault classes and which discrepancy classes
// happened, with counts (the engine's run, or the first strategy's), and
// names those that did not.
type Coverage struct {
	Enabled       []Fault        `json:"enabled"`
	Faults        map[string]int `json:"faults"`
	Discrepancies map[string]int `json:"discrepancies"`
	// Missing lists the enabled fault classes (crash as crash-sdk and
	// crash-journal) and the discrepancy classes that never happened.
	Missing []string `json:"missing"`
}

const maxListed = 50

// Run simulates the fleet once per strategy, on the same seed.
func Run(ctx context.Context, cfg Config) (*FleetReport, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if cfg.SQLiteFraction > 0 && cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "vitalsync-sim-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	knobs := drawKnobs(cfg.Seed, cfg.Faults, !cfg.NoSwarm, cfg.Launches)
	rep := &FleetReport{Seed: cfg.Seed, Installs: cfg.Installs, Launches: cfg.Launches, Knobs: knobs,
		Coverage: Coverage{Enabled: knobs.Enabled(), Faults: map[string]int{}, Discrepancies: map[string]int{}}}
	span := int64(horizon(cfg.Launches)/time.Second) * 2
	rep.BucketSeconds = max(1, span/int64(cfg.Buckets))
	// The strategies' fleets share nothing (each has its own backend and
	// devices), so they run side by side, one per core; each is the same
	// single-goroutine loop, and the report is the same bytes. The costliest
	// loops start first (longest first), so that the longest one does not
	// start last and leave the other cores idle while it runs alone.
	if progress := cfg.Progress; progress != nil {
		var mu sync.Mutex
		cfg.Progress = func(strategy string, done, total int) {
			mu.Lock()
			defer mu.Unlock()
			progress(strategy, done, total)
		}
	}
	rep.Strategies = make([]StrategyStats, len(cfg.Strategies))
	errs := make([]error, len(cfg.Strategies))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(len(cfg.Strategies), max(1, runtime.GOMAXPROCS(0))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				// Coverage is the first strategy's: only its loop writes it.
				rep.Strategies[k], errs[k] = runStrategy(ctx, &cfg, knobs, cfg.Strategies[k], rep, k == 0)
			}
		}()
	}
	for _, k := range longestFirst(cfg.Strategies) {
		work <- k
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep.Coverage.Missing = missing(rep.Coverage)
	return rep, nil
}

// longestFirst returns the indices of strategies, the costliest fleet
// loop first (stable among equals). A launch's cost is mostly its Sign-In
// Tokens (each a signature, a verification and a token exchange) and its
// requests: every-launch mints at nearly every launch, and its loop takes
// half of a four-strategy run's CPU; the docs' recipe mints at a third of
// launches (a fifth of the CPU), the engine and identify at a tenth or
// less (a seventh and a ninth). Strategies this package does not know come
// last, in their order.
func longestFirst(strategies []Strategy) []int {
	weight := func(s Strategy) int {
		switch s.(type) {
		case EveryLaunch:
			return 4
		case DocsRecipe:
			return 3
		case Engine:
			return 2
		case Identify:
			return 1
		}
		return 0
	}
	order := make([]int, len(strategies))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return weight(strategies[b]) - weight(strategies[a]) })
	return order
}

// missing lists what coverage did not see.
func missing(c Coverage) []string {
	var out []string
	for _, f := range c.Enabled {
		names := []string{string(f)}
		if f == FaultCrash {
			names = []string{"crash-sdk", "crash-journal"}
		}
		for _, n := range names {
			if c.Faults[n] == 0 {
				out = append(out, n)
			}
		}
	}
	for _, d := range reconcile.Discrepancies() {
		if d == reconcile.Invalid {
			continue // an impossible observation: never expected
		}
		if c.Discrepancies[string(d)] == 0 {
			out = append(out, "discrepancy:"+string(d))
		}
	}
	return out
}

// next is a device's next step in the event queue, ordered by (virtual
// time, installation).
type next struct {
	at   int64
	inst int
}

type queue []next

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].inst < q[j].inst
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(next)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// installState is a device in a fleet run and its schedule.
type installState struct {
	dev   *device
	setup Setup
	steps []Step
	i     int
	// episode: launches and start of the open inconsistency, if any.
	inEpisode bool
	epLaunch  int
	epStart   time.Time
}

// runStrategy runs the fleet under one strategy: a single-goroutine event
// loop over every installation's next launch.
func runStrategy(ctx context.Context, cfg *Config, k Knobs, s Strategy, rep *FleetReport, cover bool) (StrategyStats, error) {
	st := StrategyStats{Name: s.Name(), Violations: []Violation{},
		seriesOK: make([]int, cfg.Buckets), seriesN: make([]int, cfg.Buckets)}
	var fleet *backend
	if !cfg.PerInstall {
		rate := cfg.BackendRate
		if rate <= 0 {
			rate = FleetRate(cfg.Installs)
		}
		var err error
		if fleet, err = newBackend(cfg.Seed, -1, rate); err != nil {
			return st, err
		}
	}
	states := make([]*installState, cfg.Installs)
	q := make(queue, 0, cfg.Installs)
	for i := range states {
		setup, steps := schedule(cfg.Seed, i, cfg.Launches, cfg.Profiles, cfg.SQLiteFraction, k)
		states[i] = &installState{setup: setup, steps: steps}
		q = append(q, next{at: steps[0].At, inst: i})
	}
	heap.Init(&q)
	var consistent, done int
	var calls, mints int
	byProfile := map[string]*ProfileStats{}
	for _, p := range fsm.Profiles() {
		byProfile[p.Name] = &ProfileStats{Profile: p.Name}
	}
	for q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n := heap.Pop(&q).(next)
		is := states[n.inst]
		if is.dev == nil {
			b := fleet
			if b == nil {
				var err error
				if b, err = newBackend(cfg.Seed, n.inst, 0); err != nil {
					return st, err
				}
			}
			d, err := newDeviceOn(ctx, b, cfg.Seed, n.inst, is.setup, s, cfg.Dir)
			if err != nil {
				return st, err
			}
			is.dev = d
		}
		d := is.dev
		d.back.current = d
		last := is.i == len(is.steps)-1
		ps := byProfile[is.setup.Profile]
		out := d.stepAndAccount(ctx, is.i, is.steps[is.i], last, &st, ps)
		ps.launches += out.launches
		ps.mints += out.mints
		ps.NeedlessSignOuts += out.needless
		ps.ViolationCount += len(out.violations)
		calls += out.calls
		mints += out.mints
		st.RateLimited += out.r429
		st.NeedlessSignOuts += out.needless
		st.LaunchCount += out.launches
		if b := int((is.steps[is.i].At) / rep.BucketSeconds); b >= 0 && b < cfg.Buckets {
			st.seriesN[b]++
			if out.after.consistent {
				st.seriesOK[b]++
			}
		}
		if cover {
			for _, f := range out.rec.Applied {
				rep.Coverage.Faults[string(f)]++
			}
			for _, f := range out.rec.Fired {
				rep.Coverage.Faults[string(f)]++
			}
			if out.rec.Crashed != "" {
				rep.Coverage.Faults[out.rec.Crashed]++
			}
			if out.launches > 1 {
				rep.Coverage.Faults[string(FaultConcurrentLaunch)]++
			}
			if is.steps[is.i].Locked {
				rep.Coverage.Faults[string(FaultLockedKeychain)]++
			}
			if is.steps[is.i].Herd == FaultHerdUpgrade {
				rep.Coverage.Faults[string(FaultHerdUpgrade)]++
			}
			if out.discrepancy != "" {
				rep.Coverage.Discrepancies[string(out.discrepancy)]++
			}
		}
		// Episodes of inconsistency.
		if !out.before.consistent && !is.inEpisode {
			is.inEpisode, is.epLaunch, is.epStart = true, 0, timeAt(is.steps[is.i].At)
		}
		if is.inEpisode {
			is.epLaunch++
			if out.after.consistent {
				st.convLaunches = append(st.convLaunches, float64(is.epLaunch))
				st.convSeconds = append(st.convSeconds, d.clock.Now().Sub(is.epStart).Seconds())
				is.inEpisode = false
			}
		}
		for _, v := range out.violations {
			st.ViolationCount++
			if len(st.Violations) < maxListed {
				st.Violations = append(st.Violations, v)
			}
		}
		if !last {
			is.i++
			heap.Push(&q, next{at: is.steps[is.i].At, inst: n.inst})
			continue
		}
		ps.Installs++
		st.WrongUserWorstInstallSeconds = max(st.WrongUserWorstInstallSeconds, d.wrongSeconds)
		ps.WrongUserWorstInstallSeconds = max(ps.WrongUserWorstInstallSeconds, d.wrongSeconds)
		if out.after.consistent {
			consistent++
			ps.consistent++
		}
		if is.inEpisode {
			st.Unconverged++
		}
		if cover && cfg.Reports != nil {
			row, err := d.finalReport(ctx)
			if err == nil {
				err = cfg.Reports(row)
			}
			if err != nil {
				d.close()
				return st, fmt.Errorf("simulations: report of installation %d: %w", n.inst, err)
			}
		}
		d.close()
		states[n.inst] = nil
		done++
		if cfg.Progress != nil {
			cfg.Progress(s.Name(), done, cfg.Installs)
		}
	}
	st.ConsistentPct = round(100 * float64(consistent) / float64(cfg.Installs))
	st.LaunchesToConvergeP50, st.LaunchesToConvergeP99 = percentile(st.convLaunches, 50), percentile(st.convLaunches, 99)
	st.SecondsToConvergeP50, st.SecondsToConvergeP99 = percentile(st.convSeconds, 50), percentile(st.convSeconds, 99)
	if st.LaunchCount > 0 {
		st.MintsPer1000Launches = round(1000 * float64(mints) / float64(st.LaunchCount))
		st.NetworkCallsPerLaunch = round(float64(calls) / float64(st.LaunchCount))
	}
	st.WrongUserSeconds, st.DataGapSeconds = round(st.WrongUserSeconds), round(st.DataGapSeconds)
	st.WrongUserAfterCrashSeconds = round(st.WrongUserAfterCrashSeconds)
	st.WrongUserWorstInstallSeconds = round(st.WrongUserWorstInstallSeconds)
	st.ByProfile = []ProfileStats{}
	for _, p := range fsm.Profiles() {
		ps := byProfile[p.Name]
		if ps.Installs == 0 {
			continue
		}
		ps.ConsistentPct = round(100 * float64(ps.consistent) / float64(ps.Installs))
		if ps.launches > 0 {
			ps.MintsPer1000Launches = round(1000 * float64(ps.mints) / float64(ps.launches))
		}
		ps.WrongUserSeconds, ps.DataGapSeconds = round(ps.WrongUserSeconds), round(ps.DataGapSeconds)
		ps.WrongUserWorstInstallSeconds = round(ps.WrongUserWorstInstallSeconds)
		st.ByProfile = append(st.ByProfile, *ps)
	}
	st.SeriesLaunches = st.seriesN
	st.Series = make([]float64, cfg.Buckets)
	for b := range st.Series {
		st.Series[b] = -1
		if st.seriesN[b] > 0 {
			st.Series[b] = round(float64(st.seriesOK[b]) / float64(st.seriesN[b]))
		}
	}
	slices.SortStableFunc(st.Violations, func(a, b Violation) int {
		switch {
		case a.At != b.At:
			return cmpInt64(a.At, b.At)
		case a.Install != b.Install:
			return a.Install - b.Install
		}
		return a.Step - b.Step
	})
	return st, nil
}

// stepAndAccount runs a step and integrates the time measures: the state
// the previous step left is charged until this one starts.
func (d *device) stepAndAccount(ctx context.Context, i int, s Step, last bool, st *StrategyStats, ps *ProfileStats) stepOut {
	if t := timeAt(s.At); t.After(d.clock.Now()) {
		d.clock.Set(t)
	}
	d.charge(st, ps)
	out := d.step(ctx, i, s, last)
	d.charge(st, ps) // faults that advanced the clock within the step
	d.back.current = nil
	d.last, d.lastCrashed = out.after, out.rec.Crashed != ""
	return out
}

// charge adds the time since the last charge to the measures of the
// device's last judged state.
func (d *device) charge(st *StrategyStats, ps *ProfileStats) {
	now := d.clock.Now()
	secs := now.Sub(d.lastAt).Seconds()
	d.lastAt = now
	if d.last.wrongUser {
		d.wrongSeconds += secs
		st.WrongUserSeconds += secs
		ps.WrongUserSeconds += secs
		if d.lastCrashed {
			st.WrongUserAfterCrashSeconds += secs
		}
	}
	if d.last.gap {
		st.DataGapSeconds += secs
		ps.DataGapSeconds += secs
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// percentile returns the p-th percentile (nearest rank) of xs, 0 if empty.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return round(s[max(0, min(len(s)-1, r-1))])
}

// round keeps three decimals, so that reports print the same everywhere.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }
