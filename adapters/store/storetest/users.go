package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/issuer"
)

// UserMapStore is the user map a contract run needs: the issuer's
// UserStore plus the history that audits read.
type UserMapStore interface {
	issuer.UserStore
	// UserHistory returns every mapping of appUserID, deleted ones
	// included, oldest first; no mappings is an empty, non-nil slice.
	UserHistory(ctx context.Context, appUserID string) ([]issuer.Mapping, error)
}

// clock is a settable clock for the stores under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the time last set.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the time.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// UserMap runs the issuer.UserStore contract (see issuer.UserStore) against
// the stores open returns: a new, empty one per subtest, whose timestamps
// come from now.
func UserMap(t *testing.T, open func(t *testing.T, now func() time.Time) UserMapStore) {
	ctx := context.Background()
	// Times in a zone other than UTC, with nanoseconds: stores give them
	// back in UTC.
	zone := time.FixedZone("PDT", -7*60*60)
	at := func(minute int) time.Time { return time.Date(2026, 3, 1, 9, minute, 0, 999, zone) }

	// openWithApp opens a store whose clock reads at(1) and maps "app" to
	// "v1" in it.
	openWithApp := func(t *testing.T) (*clock, UserMapStore, issuer.Mapping) {
		t.Helper()
		clk := &clock{}
		s := open(t, clk.Now)
		clk.Set(at(1))
		m, err := s.PutUser(ctx, "app", "v1")
		require.NoError(t, err)
		return clk, s, m
	}

	t.Run("lookup, put and exists", func(t *testing.T) {
		clk := &clock{}
		s := open(t, clk.Now)
		_, ok, err := s.LookupUser(ctx, "app")
		require.NoError(t, err)
		require.False(t, ok)
		requireHistory(t, s, "app")

		clk.Set(at(1))
		m, err := s.PutUser(ctx, "app", "v1")
		require.NoError(t, err)
		want := issuer.Mapping{AppUserID: "app", VitalUserID: "v1", CreatedAt: at(1).UTC()}
		require.Equal(t, want, m)
		requireActive(t, s, want)

		// A second mapping is refused, and the active one returned, for
		// another Vital user as for the same one.
		clk.Set(at(2))
		for _, v := range []string{"v2", "v1"} {
			existing, err := s.PutUser(ctx, "app", v)
			require.ErrorIs(t, err, issuer.ErrMappingExists)
			require.Equal(t, want, existing)
		}
		requireActive(t, s, want)
		requireHistory(t, s, "app", want)

		// Other app users are independent, even with the same Vital user.
		other, err := s.PutUser(ctx, "app2", "v1")
		require.NoError(t, err)
		require.Equal(t, issuer.Mapping{AppUserID: "app2", VitalUserID: "v1", CreatedAt: at(2).UTC()}, other)
		requireActive(t, s, want)
	})

	t.Run("mark deleted and history", func(t *testing.T) {
		clk, s, _ := openWithApp(t)
		_, err := s.PutUser(ctx, "bystander", "v9")
		require.NoError(t, err)

		clk.Set(at(2))
		require.ErrorIs(t, s.MarkUserDeleted(ctx, "app", "v2"), issuer.ErrMappingInactive, "another Vital user")
		require.ErrorIs(t, s.MarkUserDeleted(ctx, "nobody", "v1"), issuer.ErrMappingInactive, "an unknown app user")
		require.ErrorIs(t, s.MarkUserDeleted(ctx, "bystander", "v1"), issuer.ErrMappingInactive, "another app user's Vital user")
		requireActive(t, s, issuer.Mapping{AppUserID: "app", VitalUserID: "v1", CreatedAt: at(1).UTC()})

		clk.Set(at(3))
		require.NoError(t, s.MarkUserDeleted(ctx, "app", "v1"))
		_, ok, err := s.LookupUser(ctx, "app")
		require.NoError(t, err)
		require.False(t, ok, "a deleted mapping is not active")
		deleted := at(3).UTC()
		first := issuer.Mapping{AppUserID: "app", VitalUserID: "v1", CreatedAt: at(1).UTC(), DeletedAt: &deleted}
		requireHistory(t, s, "app", first)

		// Marking an inactive mapping changes nothing.
		clk.Set(at(4))
		require.ErrorIs(t, s.MarkUserDeleted(ctx, "app", "v1"), issuer.ErrMappingInactive, "already deleted")
		requireHistory(t, s, "app", first)

		// The app user gets a new mapping; history keeps the order.
		clk.Set(at(5))
		second, err := s.PutUser(ctx, "app", "v2")
		require.NoError(t, err)
		require.Equal(t, issuer.Mapping{AppUserID: "app", VitalUserID: "v2", CreatedAt: at(5).UTC()}, second)
		requireActive(t, s, second)
		require.ErrorIs(t, s.MarkUserDeleted(ctx, "app", "v1"), issuer.ErrMappingInactive, "the old mapping")
		clk.Set(at(6))
		require.NoError(t, s.MarkUserDeleted(ctx, "app", "v2"))
		clk.Set(at(7))
		third, err := s.PutUser(ctx, "app", "v1") // a Vital user may come back
		require.NoError(t, err)
		deleted2 := at(6).UTC()
		second.DeletedAt = &deleted2
		requireHistory(t, s, "app", first, second, third)
		requireHistory(t, s, "bystander", issuer.Mapping{AppUserID: "bystander", VitalUserID: "v9", CreatedAt: at(1).UTC()})
	})

	t.Run("history is a copy", func(t *testing.T) {
		clk, s, _ := openWithApp(t)
		clk.Set(at(2))
		require.NoError(t, s.MarkUserDeleted(ctx, "app", "v1"))
		h, err := s.UserHistory(ctx, "app")
		require.NoError(t, err)
		require.Len(t, h, 1)
		*h[0].DeletedAt = at(9)
		h[0].VitalUserID = "changed"
		deleted := at(2).UTC()
		requireHistory(t, s, "app", issuer.Mapping{AppUserID: "app", VitalUserID: "v1", CreatedAt: at(1).UTC(), DeletedAt: &deleted})
	})

	t.Run("invalid values are refused", func(t *testing.T) {
		clk := &clock{}
		s := open(t, clk.Now)
		for _, args := range [][2]string{{"", "v"}, {"app", ""}, {"", ""}} {
			_, err := s.PutUser(ctx, args[0], args[1])
			require.ErrorIs(t, err, issuer.ErrInvalidMapping, "%q → %q", args[0], args[1])
			requireHistory(t, s, args[0])
		}
	})

	t.Run("a done context changes nothing", func(t *testing.T) {
		_, s, m := openWithApp(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		RequireUserMapFails(t, done, s, context.Canceled)
		requireActive(t, s, m)
		requireHistory(t, s, "new")
	})

	t.Run("concurrent first puts leave exactly one mapping", func(t *testing.T) {
		clk := &clock{}
		s := open(t, clk.Now)
		clk.Set(at(1))
		winner := RacePutUser(t, []issuer.UserStore{s}, "app", 16)
		requireActive(t, s, winner)
		requireHistory(t, s, "app", winner)
	})
}

// RequireUserMapFails holds that every method of s fails with target when
// called with ctx: the lookup and history of "app", a put of "new" → "v2"
// and the deletion of "app" → "v1".
func RequireUserMapFails(t *testing.T, ctx context.Context, s UserMapStore, target error) {
	t.Helper()
	_, _, err := s.LookupUser(ctx, "app")
	require.ErrorIs(t, err, target)
	_, err = s.PutUser(ctx, "new", "v2")
	require.ErrorIs(t, err, target)
	require.ErrorIs(t, s.MarkUserDeleted(ctx, "app", "v1"), target)
	_, err = s.UserHistory(ctx, "app")
	require.ErrorIs(t, err, target)
}

// RacePutUser puts n first mappings of appUserID at once, the i-th (Vital
// user ID "v<i>") through stores[i%len(stores)]: several handles, pools or
// processes on one store. Exactly one PutUser succeeds; every other fails
// with issuer.ErrMappingExists and returns the winner's mapping, which
// RacePutUser returns.
func RacePutUser(t *testing.T, stores []issuer.UserStore, appUserID string, n int) issuer.Mapping {
	t.Helper()
	ctx := context.Background()
	type result struct {
		m   issuer.Mapping
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			<-start
			m, err := s.PutUser(ctx, appUserID, fmt.Sprintf("v%d", i))
			results[i] = result{m, err}
		})
	}
	close(start)
	wg.Wait()
	var winners []issuer.Mapping
	for _, r := range results {
		if r.err == nil {
			winners = append(winners, r.m)
		}
	}
	require.Len(t, winners, 1, "exactly one PutUser of %s succeeds", appUserID)
	for _, r := range results {
		if r.err != nil {
			require.True(t, errors.Is(r.err, issuer.ErrMappingExists), "%v", r.err)
			require.Equal(t, winners[0], r.m, "a loser gets the winner's mapping")
		}
	}
	return winners[0]
}

func requireActive(t *testing.T, s UserMapStore, want issuer.Mapping) {
	t.Helper()
	got, ok, err := s.LookupUser(context.Background(), want.AppUserID)
	require.NoError(t, err)
	require.True(t, ok, "app user %q has an active mapping", want.AppUserID)
	require.Equal(t, want, got)
}

func requireHistory(t *testing.T, s UserMapStore, app string, want ...issuer.Mapping) {
	t.Helper()
	got, err := s.UserHistory(context.Background(), app)
	require.NoError(t, err)
	require.NotNil(t, got, "no history is an empty slice")
	if want == nil {
		want = []issuer.Mapping{}
	}
	require.Equal(t, want, got)
}
