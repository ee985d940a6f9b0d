package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The kinds of step a launch's process takes, where it can die.
const (
	stepRequest = "request" // an HTTP request of the SDK core or the token source
	stepSDK     = "sdk"     // a write of the SDK core to its store
	stepJournal = "journal" // a write to the journal
)

// proc is one launch's process and its crash point. Every request it sends
// and every write to the device's store or the journal is one of its
// steps, counted across every launch task in it from 0; with a crash point
// k it dies just before step k, so that step and everything after it never
// happen (a crash between two steps, or within an SDK call between its
// request and its write, is a crash before the next step). A launch that
// takes k steps or fewer ends before its crash point: the crash then costs
// nothing. Once dead, the process reads, writes and sends nothing: each
// call returns memory.ErrCrashed.
type proc struct {
	at, steps int
	crashed   bool
	// before is the kind of step the crash came before, and last the kind
	// of the step before it ("" at the first).
	before, last string
}

// newProc returns a process that dies before step k, or never (nil).
func newProc(k *int) *proc {
	if k == nil {
		return nil
	}
	return &proc{at: *k}
}

// step counts one step of kind, or dies before it.
func (p *proc) step(kind string) error {
	if p == nil {
		return nil
	}
	if p.crashed {
		return memory.ErrCrashed
	}
	if p.steps == p.at {
		p.crashed, p.before = true, kind
		return memory.ErrCrashed
	}
	p.steps++
	p.last = kind
	return nil
}

func (p *proc) alive() error {
	if p != nil && p.crashed {
		return memory.ErrCrashed
	}
	return nil
}

// class names the crash point for coverage: crash-request (before a
// request), crash-sdk (before an SDK write: after its request, or a
// sign-out not yet durable) or crash-journal (before a journal write).
func (p *proc) class() string {
	if p == nil || !p.crashed {
		return ""
	}
	return "crash-" + p.before
}

// procStore is the device store as a process sees it.
type procStore struct {
	vitalsdk.Store
	p *proc
}

func (s procStore) LoadDevice(ctx context.Context, installation string) (vitalsdk.DeviceState, bool, error) {
	if err := s.p.alive(); err != nil {
		return vitalsdk.DeviceState{}, false, err
	}
	return s.Store.LoadDevice(ctx, installation)
}

func (s procStore) SaveDevice(ctx context.Context, st vitalsdk.DeviceState) error {
	if err := s.p.step(stepSDK); err != nil {
		return err
	}
	return s.Store.SaveDevice(ctx, st)
}

func (s procStore) DeleteDevice(ctx context.Context, installation string) error {
	if err := s.p.step(stepSDK); err != nil {
		return err
	}
	return s.Store.DeleteDevice(ctx, installation)
}

// procJournal is the journal as a process sees it.
type procJournal struct {
	reconcile.Journal
	p *proc
}

func (j procJournal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	if err := j.p.alive(); err != nil {
		return reconcile.JournalEntry{}, err
	}
	return j.Journal.Load(ctx)
}

func (j procJournal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	if err := j.p.step(stepJournal); err != nil {
		return err
	}
	return j.Journal.Save(ctx, e, event)
}
