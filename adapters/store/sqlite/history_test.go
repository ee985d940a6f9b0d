package sqlite

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/virtual"
)

func saveEvents(t *testing.T, db *DB, installation string, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, db.saveJournalRow(context.Background(),
			journalRow{Installation: installation, Attempts: i}, "e"+strconv.Itoa(i)))
	}
}

func TestHistoryBoundedByCount(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, WithClock(stepClock()))
	saveEvents(t, db, "a", HistoryMaxEvents+50)
	saveEvents(t, db, "b", 3)

	evs, err := db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Len(t, evs, HistoryMaxEvents)
	// The newest are kept, in order, the last one being the entry saved.
	require.Equal(t, "e50", evs[0].Event)
	require.Equal(t, "e"+strconv.Itoa(HistoryMaxEvents+49), evs[len(evs)-1].Event)
	for i := 1; i < len(evs); i++ {
		require.Less(t, evs[i-1].Seq, evs[i].Seq)
	}
	e, _, err := db.loadJournalRow(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, HistoryMaxEvents+49, e.Attempts)
	// Another installation's history is its own.
	evs, err = db.JournalEvents(ctx, "b", 0)
	require.NoError(t, err)
	require.Len(t, evs, 3)
}

func TestHistoryBoundedByAge(t *testing.T) {
	ctx := context.Background()
	clock := virtual.NewClock(t0)
	db, _ := openTest(t, WithClock(clock.Now))
	saveEvents(t, db, "a", 5)
	saveEvents(t, db, "dormant", 3*historySweep)
	clock.Advance(HistoryMaxAge - time.Hour)
	saveEvents(t, db, "a", 2)
	evs, err := db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Len(t, evs, 7, "nothing is older than the bound yet")

	clock.Advance(2 * time.Hour) // the first five are now older than the bound
	saveEvents(t, db, "a", 1)
	evs, err = db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Len(t, evs, 3)
	for _, ev := range evs {
		require.False(t, ev.At.Before(clock.Now().Add(-HistoryMaxAge)), ev.Event)
	}

	// The dormant installation's old events go a few at a time, with the
	// saves of others.
	saveEvents(t, db, "a", 3)
	evs, err = db.JournalEvents(ctx, "dormant", 0)
	require.NoError(t, err)
	require.Empty(t, evs)

	// An event saved with an old time of its own is kept.
	old := journalRow{Installation: "c", UpdatedAt: t0.Add(-365 * 24 * time.Hour)}
	require.NoError(t, db.saveJournalRow(ctx, old, "old"))
	evs, err = db.JournalEvents(ctx, "c", 0)
	require.NoError(t, err)
	require.Len(t, evs, 1)
}

func TestHistoryPrunedInTheSaveTransaction(t *testing.T) {
	// A prune that fails rolls the save back: entry and history stay as
	// they were.
	ctx := context.Background()
	db, _ := openTest(t, WithClock(stepClock()))
	saveEvents(t, db, "a", HistoryMaxEvents)
	before, _, err := db.loadJournalRow(ctx, "a")
	require.NoError(t, err)
	_, err = db.wdb.ExecContext(ctx, `CREATE TEMP TRIGGER no_prune BEFORE DELETE ON main.journal_events
		BEGIN SELECT RAISE(ABORT, 'no pruning'); END`)
	require.NoError(t, err)

	err = db.saveJournalRow(ctx, journalRow{Installation: "a", Attempts: 999}, "one too many")
	requireAborted(t, db, err, before)
	evs, err := db.JournalEvents(ctx, "a", 0)
	require.NoError(t, err)
	require.Len(t, evs, HistoryMaxEvents)
	require.Equal(t, "e"+strconv.Itoa(HistoryMaxEvents-1), evs[len(evs)-1].Event)
}
