package sqlite

import (
	"context"
	"time"
)

// The journal history (journal_events) is bounded, so that a database's
// size and the cost of reading it do not grow with an installation's age.
const (
	// HistoryMaxEvents is how many events SaveJournal keeps per
	// installation: the newest ones.
	HistoryMaxEvents = 100
	// HistoryMaxAge is how long an event is kept, measured on the DB clock
	// against the event's time: older ones are deleted. The event a save
	// adds is kept whatever its time.
	HistoryMaxAge = 90 * 24 * time.Hour
	// historySweep is how many of the file's oldest events one save
	// examines for age, whatever their installation: installations that no
	// longer save lose their old history a few events at a time.
	historySweep = 8
)

// saveJournalBounded is saveJournal followed by pruneHistory, in the
// caller's transaction.
func (tx *tx) saveJournalBounded(ctx context.Context, e journalRow, event string) error {
	if err := tx.saveJournal(ctx, e, event); err != nil {
		return err
	}
	return tx.pruneHistory(ctx, e.Installation)
}

// pruneHistory bounds the journal history after a save of installation's
// entry, in the same transaction. Its cost does not depend on the size of
// the history: both statements walk the (installation, id) index or the
// start of the id order.
//
//   - installation keeps its newest HistoryMaxEvents events, and none older
//     than HistoryMaxAge but the one just saved;
//   - of the file's historySweep oldest events (by id), those older than
//     HistoryMaxAge go, the one just saved excepted.
func (tx *tx) pruneHistory(ctx context.Context, installation string) error {
	cutoff := tx.now.Add(-HistoryMaxAge).UnixNano()
	if _, err := tx.ExecContext(ctx, `
		DELETE FROM journal_events
		WHERE installation = ?1
			AND id < (SELECT max(id) FROM journal_events WHERE installation = ?1)
			AND (at < ?2 OR id <= (SELECT id FROM journal_events WHERE installation = ?1
				ORDER BY id DESC LIMIT 1 OFFSET ?3))`,
		installation, cutoff, HistoryMaxEvents); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `
		DELETE FROM journal_events
		WHERE id IN (SELECT id FROM journal_events ORDER BY id LIMIT ?1)
			AND at < ?2 AND id < (SELECT max(id) FROM journal_events)`,
		historySweep, cutoff)
	return err
}
