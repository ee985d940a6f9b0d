package memory

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/vitalsync/vitalsync/reconcile"
)

// Journal is the reconcile journal of one installation; it implements
// reconcile.Journal. The zero value is an empty journal.
type Journal struct {
	mu     sync.Mutex
	entry  reconcile.JournalEntry
	events []string
	writes atomic.Uint64
}

// Load returns the entry, or the zero entry when none was saved.
func (j *Journal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return reconcile.JournalEntry{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.entry, nil
}

// Save stores e and appends event to the history. An entry or event
// reconcile.JournalEntry.Validate refuses is an error matching
// reconcile.ErrInvalidJournalEntry, and nothing changes.
func (j *Journal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.Validate(event); err != nil {
		return err
	}
	if !e.NextAttemptAt.IsZero() {
		e.NextAttemptAt = e.NextAttemptAt.Round(0).UTC() // as SQLite stores it
	}
	if !e.LastResolvedAt.IsZero() {
		e.LastResolvedAt = e.LastResolvedAt.Round(0).UTC()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entry = e
	j.events = append(j.events, event)
	j.writes.Add(1)
	return nil
}

// Events returns the saved events, oldest first.
func (j *Journal) Events() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// WriteCount counts the saves.
func (j *Journal) WriteCount() uint64 { return j.writes.Load() }
