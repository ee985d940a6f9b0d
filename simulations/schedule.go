package simulations

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/vitalsync/vitalsync/adapters/virtual"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Knobs are a run's "swarm" settings: which fault classes are on and how
// often each strikes (a chance per launch step). The seed draws them unless
// the caller fixes them, so that different seeds explore different mixes.
type Knobs struct {
	Rates map[Fault]float64 `json:"rates"`
	// HerdDeletionAt and HerdUpgradeAt are the herds' instants (seconds
	// after the epoch); 0 when the herd is off.
	HerdDeletionAt int64 `json:"herd_deletion_at,omitempty"`
	HerdUpgradeAt  int64 `json:"herd_upgrade_at,omitempty"`
}

// on reports whether f is enabled.
func (k Knobs) on(f Fault) bool {
	switch f {
	case FaultHerdDeletion:
		return k.HerdDeletionAt > 0
	case FaultHerdUpgrade:
		return k.HerdUpgradeAt > 0
	}
	return k.Rates[f] > 0
}

// Enabled returns the enabled fault classes, in the order of Faults.
func (k Knobs) Enabled() []Fault {
	var out []Fault
	for _, f := range Faults() {
		if k.on(f) {
			out = append(out, f)
		}
	}
	return out
}

// horizon is roughly how long a run of launches lasts in virtual time.
func horizon(launches int) time.Duration { return time.Duration(launches) * 3 * time.Hour }

// drawKnobs draws the swarm knobs from the seed: each allowed class is on
// with probability 3/4 (all of them when swarm is false), at its base rate
// scaled by a factor in [0.5, 2).
func drawKnobs(seed uint64, allowed []Fault, swarm bool, launches int) Knobs {
	r := stream(seed, "knobs", 0)
	k := Knobs{Rates: map[Fault]float64{}}
	h := int64(horizon(launches) / time.Second)
	for _, f := range allowed {
		if swarm && r.Float64() >= 0.75 {
			continue
		}
		switch f {
		case FaultHerdDeletion:
			k.HerdDeletionAt = 1 + h/4 + r.Int64N(h/2+1)
		case FaultHerdUpgrade:
			k.HerdUpgradeAt = 1 + h/4 + r.Int64N(h/2+1)
		default:
			k.Rates[f] = f.baseRate() * (0.5 + 1.5*r.Float64())
		}
	}
	return k
}

// stream returns the random stream named purpose of installation inst
// under seed: every installation draws from streams of its own, so that it
// replays alone exactly as it ran in its fleet.
func stream(seed uint64, purpose string, inst int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(inst))
	h.Write(b[:])
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// chachaSeed derives the seed of installation inst's byte stream (the
// emulator's randomness: user IDs, tokens).
func chachaSeed(seed uint64, inst int) [32]byte {
	r := stream(seed, "bytes", inst)
	var s [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(s[8*i:], r.Uint64())
	}
	return s
}

// AppEvent is what the app's user does before a launch.
type AppEvent struct {
	// Kind is "sign-in" (User signs in; from another user, a switch),
	// "sign-out" or "sdk-upgrade" (the app ships a newer SDK line).
	Kind string `json:"kind"`
	User string `json:"user,omitempty"`
}

// NetFault is a network fault on one request of a launch: the request
// after Skip others.
type NetFault struct {
	Kind Fault `json:"kind"`
	Skip int   `json:"skip,omitempty"`
	// RetryAfter is a 429's Retry-After, in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Step is one entry of an installation's schedule: what happens before a
// launch, and the faults the launch meets. Steps are inputs; the world's
// answer to them is in the trace.
type Step struct {
	// At is the launch's virtual time, in seconds after the epoch.
	At int64 `json:"at"`
	// App is the app's user's action, if any.
	App *AppEvent `json:"app,omitempty"`
	// Between are the faults between the previous launch and this one
	// (user-deleted, token-expiry, refresh-revoked, reinstall,
	// herd-deletion), in order; any of them but reinstall is followed by a
	// data sync. Sync asks for a data sync without a fault.
	Between []Fault `json:"between,omitempty"`
	Sync    bool    `json:"sync,omitempty"`
	// Net are the launch's network faults.
	Net []NetFault `json:"net,omitempty"`
	// Crash, when set, kills the launch's process before its Crash-th step
	// (counted from 0 over its requests and its writes to the device's
	// store and the journal); a launch with fewer steps ends first.
	Crash *int `json:"crash,omitempty"`
	// Concurrent runs a second launch task in the process.
	Concurrent bool `json:"concurrent,omitempty"`
	// Locked starts the launch's process with the keychain locked.
	Locked bool `json:"locked,omitempty"`
	// Tail marks the liveness phase: faults have stopped.
	Tail bool `json:"tail,omitempty"`
	// Herd names the fleet-wide event this step takes part in, if any.
	Herd Fault `json:"herd,omitempty"`
}

// Setup is an installation's initial state.
type Setup struct {
	Profile string `json:"profile"`
	// SQLite puts the device store and journal on a real SQLite file.
	SQLite bool `json:"sqlite,omitempty"`
	// APIKeyBuild: the app shipped an API-key build before, so the SDK
	// starts signed in with the API key as the app's first user.
	APIKeyBuild bool `json:"api_key_build,omitempty"`
}

// upgrade is the SDK line an app update moves a profile to ("" if none).
func upgrade(p string) string {
	switch p {
	case "ios-1.3":
		return "ios-1.8"
	case "android-4.2.0":
		return "android-5.0"
	}
	return ""
}

// CrashSteps bounds a crash point: a launch whose process dies dies before
// one of its first CrashSteps steps (requests and writes), each as likely.
const CrashSteps = 8

// HerdWaveSeconds is how long a herd's wave of launches lasts.
const HerdWaveSeconds = 15 * 60

// TailLaunches is the liveness bound: once faults stop, every installation
// must be consistent within this many launches (2 hours apart, past any
// backoff, the last one a resolve interval later still, so that a profile
// that never detects a deleted user has asked the token source again), each
// after a data sync.
const TailLaunches = 4

// appUser names an installation's k-th app user.
func appUser(inst, k int) string { return "i" + itoa(inst) + "-u" + itoa(k) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// schedule draws installation inst's setup and schedule: launches steps of
// app events and faults at the knobs' rates, then TailLaunches quiet steps.
func schedule(seed uint64, inst int, launches int, profiles []fsm.Profile, sqliteFraction float64, k Knobs) (Setup, []Step) {
	r := stream(seed, "schedule", inst)
	setup := Setup{Profile: profiles[r.IntN(len(profiles))].Name}
	setup.SQLite = r.Float64() < sqliteFraction
	setup.APIKeyBuild = r.Float64() < 0.05
	signedIn, user := setup.APIKeyBuild, 0
	profile := setup.Profile
	at := int64(1 + r.IntN(3600))
	herdDel, herdUpg := k.HerdDeletionAt, k.HerdUpgradeAt
	rate := func(f Fault) bool { return k.Rates[f] > 0 && r.Float64() < k.Rates[f] }
	// Locked launches draw from a stream of their own, so that the other
	// draws stay what they were before the fault class existed.
	lr, cr, wr := stream(seed, "locked", inst), stream(seed, "crash", inst), stream(seed, "wave", inst)
	steps := make([]Step, 0, launches+TailLaunches)
	prevAt := int64(0)
	for i := 0; i < launches; i++ {
		s := Step{At: at}
		// The app's user.
		switch {
		case !signedIn && r.Float64() < 0.3:
			signedIn, user = true, r.IntN(3)
			s.App = &AppEvent{Kind: "sign-in", User: appUser(inst, user)}
		case signedIn && r.Float64() < 0.02:
			signedIn = false
			s.App = &AppEvent{Kind: "sign-out"}
		case signedIn && r.Float64() < 0.02:
			user = (user + 1 + r.IntN(2)) % 3
			s.App = &AppEvent{Kind: "sign-in", User: appUser(inst, user)}
		case upgrade(profile) != "" && r.Float64() < 0.005:
			profile = upgrade(profile)
			s.App = &AppEvent{Kind: "sdk-upgrade"}
		}
		// Between launches.
		for _, f := range []Fault{FaultReinstall, FaultUserDeleted, FaultRefreshRevoked, FaultTokenExpiry} {
			if rate(f) {
				s.Between = append(s.Between, f)
				if f == FaultReinstall {
					signedIn = false
				}
			}
		}
		// A herd is a wave: every installation's next launch comes within
		// minutes of it (the backend's deletion reaches every app's next
		// upload; a release reaches every phone's store at once), which is
		// load on the fleet's one backend.
		if herdDel > 0 && at >= herdDel {
			s.Between, herdDel, s.Herd = append(s.Between, FaultHerdDeletion), 0, FaultHerdDeletion
			s.At = max(prevAt+1, min(s.At, k.HerdDeletionAt+wr.Int64N(HerdWaveSeconds)))
		}
		if herdUpg > 0 && at >= herdUpg {
			herdUpg, s.Herd = 0, FaultHerdUpgrade
			if upgrade(profile) != "" && s.App == nil {
				profile = upgrade(profile)
				s.App = &AppEvent{Kind: "sdk-upgrade"}
			}
			s.At = max(prevAt+1, min(s.At, k.HerdUpgradeAt+wr.Int64N(HerdWaveSeconds)))
			s.Sync = true
		}
		// The app's data sync, now and then.
		s.Sync = r.Float64() < 0.1 || s.Sync
		// In the launch.
		for _, f := range []Fault{FaultLostRequest, FaultLostResponse, Fault5xx, Fault429, FaultTimeout} {
			if rate(f) {
				nf := NetFault{Kind: f, Skip: r.IntN(3)}
				if f == Fault429 {
					nf.RetryAfter = 1 + r.IntN(7200)
				}
				s.Net = append(s.Net, nf)
			}
		}
		// Every launch draws whether its process dies, and before which of
		// its steps, from a stream of its own: every strategy meets the
		// same crash points, whatever it does.
		if k.Rates[FaultCrash] > 0 && cr.Float64() < k.Rates[FaultCrash] {
			n := cr.IntN(CrashSteps)
			s.Crash = &n
		}
		s.Concurrent = rate(FaultConcurrentLaunch)
		s.Locked = k.Rates[FaultLockedKeychain] > 0 && lr.Float64() < k.Rates[FaultLockedKeychain]
		steps = append(steps, s)
		prevAt = s.At
		at += int64(30*60 + min(r.ExpFloat64()*4*3600, 20*3600))
	}
	for i := 0; i < TailLaunches; i++ {
		at += 2 * 3600
		if i == TailLaunches-1 {
			// A profile that never detects a deleted user learns of it when
			// its launch asks the token source again, once a resolve
			// interval has passed.
			at += int64(reconcile.DefaultResolveInterval / time.Second)
		}
		steps = append(steps, Step{At: at, Sync: true, Tail: true})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	return setup, steps
}

// epoch is the virtual time 0 of every run.
var epoch = virtual.Epoch

// timeAt returns the instant s seconds after the epoch.
func timeAt(s int64) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
