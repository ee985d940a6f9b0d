package fsm

import (
	"context"
	"errors"
	"fmt"
	"sort"

	lfsm "github.com/looplab/fsm"
)

// Transition is one row of the transition table: Event moves the machine
// from any of Src to Dst, on the profiles for which When holds (every
// profile when When is nil).
type Transition struct {
	Event Event
	Src   []State
	Dst   State
	// When restricts the row to some profiles; Note says which, in words.
	When func(Profile) bool
	Note string
}

// Applies reports whether the row holds on profile p.
func (t Transition) Applies(p Profile) bool { return t.When == nil || t.When(p) }

// table is the one transition table of the SDK's auth state machine.
var table = [...]Transition{
	{Event: EventConfigure, Src: []State{SignedOut}, Dst: Configured},
	{Event: EventSetUser, Src: []State{Configured, APIKey}, Dst: APIKey},
	{Event: EventSignIn, Src: []State{SignedOut, Configured, UserDeleted}, Dst: Token},
	{Event: EventSignIn, Src: []State{Token}, Dst: Token,
		When: func(p Profile) bool { return !p.SameUserSignInThrows },
		Note: "same user is a no-op"},
	{Event: EventMigrate, Src: []State{APIKey}, Dst: Token},
	{Event: EventSignOut, Src: []State{SignedOut, Configured, APIKey, Token, ReauthRequired, UserDeleted}, Dst: SignedOut},
	{Event: EventReauthRequired, Src: []State{Token}, Dst: ReauthRequired,
		When: func(p Profile) bool { return p.DetectsDeletion },
		Note: "profiles that read token errors"},
	{Event: EventReauthenticate, Src: []State{ReauthRequired}, Dst: Token},
	{Event: EventReauthenticate, Src: []State{Token}, Dst: Token,
		When: func(p Profile) bool { return !p.ReportsPendingReauth },
		Note: "pending reauthentication hidden in the status"},
	{Event: EventUserDeleted, Src: []State{Token, ReauthRequired}, Dst: UserDeleted,
		When: func(p Profile) bool { return p.DetectsDeletion },
		Note: "profiles that read token errors"},
	{Event: EventAutoSignOut, Src: []State{UserDeleted}, Dst: SignedOut,
		When: func(p Profile) bool { return p.AutoSignOutOnDeletion },
		Note: "profiles that sign out on deletion"},
}

// Table returns the transition table. The rows are copies.
func Table() []Transition { return append([]Transition(nil), table[:]...) }

// Next returns the state event e leads to from st on profile p, and whether
// the table has such a transition. It is the allocation-free lookup the
// planner's tests and the simulations use; Machine is the looplab-backed
// runtime form of the same table.
func Next(p Profile, st State, e Event) (State, bool) {
	for i := range table {
		t := &table[i]
		if t.Event != e || !t.Applies(p) {
			continue
		}
		for _, s := range t.Src {
			if s == st {
				return t.Dst, true
			}
		}
	}
	return "", false
}

// ErrUnknownState is returned when a state name is not one of States.
var ErrUnknownState = errors.New("fsm: unknown state")

// ErrNoTransition is returned when an event is not allowed in the current state.
var ErrNoTransition = errors.New("fsm: no transition")

// Machine is the state machine of one installation on one profile. Build a
// new one per reconcile pass from the persisted state; it is not safe for
// concurrent use.
type Machine struct {
	profile Profile
	f       *lfsm.FSM
}

// eventDescs builds looplab's event list for profile p (nil: every row).
func eventDescs(p *Profile) []lfsm.EventDesc {
	var evs []lfsm.EventDesc
	for _, t := range table {
		if p != nil && !t.Applies(*p) {
			continue
		}
		src := make([]string, len(t.Src))
		for i, s := range t.Src {
			src[i] = string(s)
		}
		evs = append(evs, lfsm.EventDesc{Name: string(t.Event), Src: src, Dst: string(t.Dst)})
	}
	return evs
}

// NewMachine builds a machine on profile p in state st.
func NewMachine(p Profile, st State) (*Machine, error) {
	if _, ok := ParseState(string(st)); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownState, string(st))
	}
	return &Machine{profile: p, f: lfsm.NewFSM(string(st), eventDescs(&p), nil)}, nil
}

// State returns the current state.
func (m *Machine) State() State { return State(m.f.Current()) }

// Profile returns the machine's profile.
func (m *Machine) Profile() Profile { return m.profile }

// Can reports whether e is allowed in the current state.
func (m *Machine) Can(e Event) bool { return m.f.Can(string(e)) }

// Fire applies event e. A self-loop (already there) is success. The context
// is checked first and then detached, so a cancelled context can never wedge
// the machine in a half-done transition.
func (m *Machine) Fire(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := m.f.Event(context.WithoutCancel(ctx), string(e))
	var nt lfsm.NoTransitionError
	if err == nil || (errors.As(err, &nt) && nt.Err == nil) {
		return nil
	}
	var inv lfsm.InvalidEventError
	var unk lfsm.UnknownEventError
	if errors.As(err, &inv) || errors.As(err, &unk) {
		return fmt.Errorf("%w: %s in state %s on %s", ErrNoTransition, e, m.State(), m.profile.Name)
	}
	return err
}

// Available returns the events allowed in the current state, sorted.
func (m *Machine) Available() []Event {
	names := m.f.AvailableTransitions()
	sort.Strings(names)
	evs := make([]Event, len(names))
	for i, n := range names {
		evs[i] = Event(n)
	}
	return evs
}
