package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// ReportStore is the report store a contract run needs: the issuer's
// ReportStore plus reads of the stored report and binding.
type ReportStore interface {
	issuer.ReportStore
	// LatestReport returns the stored report of installation, and false
	// when there is none.
	LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error)
	// Binding returns the installation's binding, and false when it has
	// none; BindingHistory the bindings rebinds replaced, oldest first.
	Binding(ctx context.Context, installation string) (issuer.Binding, bool, error)
	BindingHistory(ctx context.Context, installation string) ([]issuer.PastBinding, error)
}

// Reports runs the issuer.ReportStore contract (see issuer.ReportStore)
// against the stores open returns: a new, empty one per subtest.
func Reports(t *testing.T, open func(t *testing.T) ReportStore) {
	ctx := context.Background()
	zone := time.FixedZone("CEST", 2*60*60)
	at := func(minute int) time.Time { return time.Date(2026, 11, 2, 8, minute, 3, 123456789, zone) }
	full := func(minute int) issuer.Report {
		return issuer.Report{InstallationID: "inst-1", Platform: fsm.Android, SDKVersion: "4.3.0",
			Profile: "android-5.0", AppSignedIn: true, AppUserID: "alice", AppVitalUserID: "v-1",
			AppEnvironment: fsm.Sandbox, AppRegion: fsm.EU,
			SDKStatus:        fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken,
			SDKCurrentUserID: "V-1", SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.EU,
			LastObserved: fsm.Token, LastError: reconcile.ErrNetwork,
			NextAttemptAt: at(minute + 30), ReportedAt: at(minute)}
	}
	// sub is r as alice's session sends it, received at minute m.
	sub := func(r issuer.Report, m int) issuer.Submission {
		caller := r.AppUserID
		if caller == "" {
			caller = "alice"
		}
		return issuer.Submission{Report: r, Caller: caller, ReceivedAt: at(m)}
	}
	keyA := issuer.HashInstallationKey([]byte("installation key of alice's phone"))
	keyB := issuer.HashInstallationKey([]byte("installation key of bob's phone!"))
	utc := func(r issuer.Report) issuer.Report {
		r.ReportedAt, r.NextAttemptAt = r.ReportedAt.UTC(), r.NextAttemptAt.UTC()
		return r
	}
	requireLatest := func(t *testing.T, s ReportStore, want issuer.Report) {
		t.Helper()
		got, ok, err := s.LatestReport(ctx, want.InstallationID)
		require.NoError(t, err)
		require.True(t, ok, "no report of %s", want.InstallationID)
		require.Equal(t, utc(want), got)
	}
	requireBound := func(t *testing.T, s ReportStore, installation, user string) issuer.Binding {
		t.Helper()
		b, ok, err := s.Binding(ctx, installation)
		require.NoError(t, err)
		require.True(t, ok, "%s is not bound", installation)
		require.Equal(t, user, b.AppUserID)
		return b
	}
	submit := func(t *testing.T, s ReportStore, x issuer.Submission) bool {
		t.Helper()
		stored, err := s.SubmitReport(ctx, x)
		require.NoError(t, err)
		return stored
	}

	t.Run("round trip in UTC", func(t *testing.T) {
		s := open(t)
		_, ok, err := s.LatestReport(ctx, "inst-1")
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, submit(t, s, sub(full(1), 1)))
		requireLatest(t, s, full(1))

		// A signed-out app with an unmapped SDK version and no journal.
		bare := issuer.Report{InstallationID: "inst-2", Platform: fsm.IOS, SDKVersion: "9.0.0", ReportedAt: at(2)}
		require.True(t, submit(t, s, sub(bare, 2)))
		requireLatest(t, s, bare)
		requireLatest(t, s, full(1))
	})

	t.Run("reports are ordered by the issuer's clock, not the device's", func(t *testing.T) {
		s := open(t)
		// A device clock far ahead does not freeze the installation's row.
		ahead := full(50)
		require.True(t, submit(t, s, sub(ahead, 5)))
		behind := full(4)
		behind.LastObserved = fsm.SignedOut
		require.True(t, submit(t, s, sub(behind, 6)), "a report received later was not stored")
		requireLatest(t, s, behind)

		// One received earlier (a delayed write) never overwrites it.
		late := full(7)
		require.False(t, submit(t, s, sub(late, 3)), "a report received earlier overwrote a later one")
		requireLatest(t, s, behind)

		// The same time again replaces it: a retried send.
		same := behind
		same.SDKStatus, same.SDKCurrentUserID, same.LastError = 0, "", reconcile.NoSDKError
		same.NextAttemptAt = time.Time{}
		require.True(t, submit(t, s, sub(same, 6)))
		requireLatest(t, s, same)
	})

	t.Run("the first reporter binds the installation and no other user can report for it", func(t *testing.T) {
		s := open(t)
		alice := sub(full(1), 1)
		alice.KeyHash = keyA
		require.True(t, submit(t, s, alice))
		b := requireBound(t, s, "inst-1", "alice")
		require.Equal(t, keyA, b.KeyHash)
		require.Equal(t, at(1).UTC(), b.BoundAt)

		// Bob, signed in on his own phone, reports for alice's
		// installation: as himself, signed out, with his own key, or
		// with none.
		for name, mut := range map[string]func(*issuer.Submission){
			"as bob": func(x *issuer.Submission) {},
			"signed out": func(x *issuer.Submission) {
				x.Report.AppSignedIn, x.Report.AppUserID, x.Report.AppVitalUserID = false, "", ""
			},
			"with his key":  func(x *issuer.Submission) { x.KeyHash = keyB },
			"with a future": func(x *issuer.Submission) { x.Report.ReportedAt = time.Date(2199, 1, 1, 0, 0, 0, 0, time.UTC) },
			"with alice key": func(x *issuer.Submission) {
				x.KeyHash = keyA
				x.Report.AppSignedIn, x.Report.AppUserID, x.Report.AppVitalUserID = false, "", ""
			},
		} {
			bob := sub(full(2), 2)
			bob.Report.AppUserID, bob.Caller = "bob", "bob"
			mut(&bob)
			stored, err := s.SubmitReport(ctx, bob)
			require.ErrorIs(t, err, issuer.ErrInstallationBound, name)
			require.ErrorIs(t, err, issuer.ErrForbidden, name)
			require.False(t, stored, name)
			requireLatest(t, s, full(1))
			requireBound(t, s, "inst-1", "alice")
		}
		// Alice's own later reports are still stored.
		next := sub(full(3), 3)
		require.True(t, submit(t, s, next))
		requireLatest(t, s, full(3))
		hist, err := s.BindingHistory(ctx, "inst-1")
		require.NoError(t, err)
		require.Empty(t, hist)
	})

	t.Run("a user switch rebinds through the new user's session with the installation's key", func(t *testing.T) {
		s := open(t)
		alice := sub(full(1), 1)
		alice.KeyHash = keyA
		require.True(t, submit(t, s, alice))

		bob := sub(full(2), 2)
		bob.Report.AppUserID, bob.Report.AppVitalUserID, bob.Caller, bob.KeyHash = "bob", "v-2", "bob", keyA
		require.True(t, submit(t, s, bob))
		b := requireBound(t, s, "inst-1", "bob")
		require.Equal(t, at(2).UTC(), b.BoundAt)
		requireLatest(t, s, bob.Report)
		hist, err := s.BindingHistory(ctx, "inst-1")
		require.NoError(t, err)
		require.Equal(t, []issuer.PastBinding{{AppUserID: "alice", BoundAt: at(1).UTC(), UnboundAt: at(2).UTC()}}, hist)

		// And back: the history keeps both.
		back := sub(full(3), 3)
		back.KeyHash = keyA
		require.True(t, submit(t, s, back))
		requireBound(t, s, "inst-1", "alice")
		hist, err = s.BindingHistory(ctx, "inst-1")
		require.NoError(t, err)
		require.Len(t, hist, 2)
		require.Equal(t, "bob", hist[1].AppUserID)
	})

	t.Run("an installation that never sent a key is never rebound", func(t *testing.T) {
		s := open(t)
		require.True(t, submit(t, s, sub(full(1), 1)))
		bob := sub(full(2), 2)
		bob.Report.AppUserID, bob.Caller, bob.KeyHash = "bob", "bob", keyA
		_, err := s.SubmitReport(ctx, bob)
		require.ErrorIs(t, err, issuer.ErrInstallationBound)
		requireBound(t, s, "inst-1", "alice")
	})

	t.Run("a restored copy of the device database is told apart by its sequence", func(t *testing.T) {
		s := open(t)
		for i := 1; i <= 5; i++ {
			x := sub(full(i), i)
			x.KeyHash, x.Sequence = keyA, uint64(i)
			require.True(t, submit(t, s, x))
		}
		// A backup taken at sequence 3, restored on a new phone: its
		// next report is 4, and 5 (the original's last) is refused too.
		for _, seq := range []uint64{4, 5, 0} {
			clone := sub(full(9), 9)
			clone.KeyHash, clone.Sequence = keyA, seq
			clone.Report.LastObserved = fsm.SignedOut
			stored, err := s.SubmitReport(ctx, clone)
			require.ErrorIs(t, err, issuer.ErrStaleSequence, "sequence %d", seq)
			require.False(t, stored)
			requireLatest(t, s, full(5))
		}
		// Nor does it rebind for another user.
		clone := sub(full(9), 9)
		clone.Report.AppUserID, clone.Caller, clone.KeyHash, clone.Sequence = "bob", "bob", keyA, 4
		_, err := s.SubmitReport(ctx, clone)
		require.ErrorIs(t, err, issuer.ErrStaleSequence)
		requireBound(t, s, "inst-1", "alice")
		// The copy then reports under a new ID of its own; the original
		// goes on.
		fresh := sub(full(9), 9)
		fresh.Report.InstallationID, fresh.KeyHash, fresh.Sequence = "inst-restored", keyB, 1
		require.True(t, submit(t, s, fresh))
		orig := sub(full(10), 10)
		orig.KeyHash, orig.Sequence = keyA, 6
		require.True(t, submit(t, s, orig))
		requireLatest(t, s, full(10))
		requireLatest(t, s, fresh.Report)
		b := requireBound(t, s, "inst-1", "alice")
		require.Equal(t, uint64(6), b.Sequence)
	})

	t.Run("invalid reports are refused", func(t *testing.T) {
		s := open(t)
		for name, mut := range map[string]func(*issuer.Submission){
			"no installation": func(x *issuer.Submission) { x.Report.InstallationID = "" },
			"no time":         func(x *issuer.Submission) { x.Report.ReportedAt = time.Time{} },
			"platform":        func(x *issuer.Submission) { x.Report.Platform = "web" },
			"profile":         func(x *issuer.Submission) { x.Report.Profile = "ios-1.8" },
			"signed out user": func(x *issuer.Submission) { x.Report.AppSignedIn = false },
			"status":          func(x *issuer.Submission) { x.Report.SDKStatus = 1 << 7 },
			"no caller":       func(x *issuer.Submission) { x.Caller = "" },
			"no receipt":      func(x *issuer.Submission) { x.ReceivedAt = time.Time{} },
			"key hash":        func(x *issuer.Submission) { x.KeyHash = []byte("short") },
		} {
			x := sub(full(1), 1)
			mut(&x)
			stored, err := s.SubmitReport(ctx, x)
			require.ErrorIs(t, err, issuer.ErrBadReport, name)
			require.False(t, stored, name)
			_, ok, err := s.LatestReport(ctx, x.Report.InstallationID)
			require.NoError(t, err)
			require.False(t, ok, "%s: stored", name)
			_, ok, err = s.Binding(ctx, x.Report.InstallationID)
			require.NoError(t, err)
			require.False(t, ok, "%s: bound", name)
		}
	})

	t.Run("times out of range are a typed error, never an overflow", func(t *testing.T) {
		s := open(t)
		for name, mut := range map[string]func(*issuer.Submission){
			"reported 2999":       func(x *issuer.Submission) { x.Report.ReportedAt = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC) },
			"reported 1600":       func(x *issuer.Submission) { x.Report.ReportedAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) },
			"reported 1969":       func(x *issuer.Submission) { x.Report.ReportedAt = time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC) },
			"next attempt 2999":   func(x *issuer.Submission) { x.Report.NextAttemptAt = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC) },
			"next attempt year 1": func(x *issuer.Submission) { x.Report.NextAttemptAt = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) },
			"received 2262":       func(x *issuer.Submission) { x.ReceivedAt = time.Date(2262, 6, 1, 0, 0, 0, 0, time.UTC) },
		} {
			x := sub(full(1), 1)
			mut(&x)
			stored, err := s.SubmitReport(ctx, x)
			require.ErrorIs(t, err, issuer.ErrTimeOutOfRange, name)
			require.ErrorIs(t, err, issuer.ErrBadReport, name)
			require.False(t, stored, name)
			_, ok, err := s.LatestReport(ctx, "inst-1")
			require.NoError(t, err)
			require.False(t, ok, "%s: stored", name)
		}
		// The edges of the range are held exactly.
		x := sub(full(1), 1)
		x.Report.ReportedAt, x.Report.NextAttemptAt = issuer.MinTime, issuer.MaxTime.Add(-time.Nanosecond)
		require.True(t, submit(t, s, x))
		requireLatest(t, s, x.Report)
	})

	t.Run("a done context changes nothing", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.SubmitReport(cctx, sub(full(1), 1))
		require.ErrorIs(t, err, context.Canceled)
		_, ok, err := s.LatestReport(ctx, "inst-1")
		require.NoError(t, err)
		require.False(t, ok)
		_, ok, err = s.Binding(ctx, "inst-1")
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("concurrent reports keep the latest received", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.SubmitReport(ctx, sub(full(i), i))
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		requireLatest(t, s, full(19))
	})

	t.Run("concurrent first reports of two users bind one", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var stored, refused atomic.Int32
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := sub(full(i), i)
				if i%2 == 1 {
					x.Report.AppUserID, x.Caller = "bob", "bob"
				}
				_, err := s.SubmitReport(ctx, x)
				switch {
				case err == nil:
					stored.Add(1)
				case assertBound(err):
					refused.Add(1)
				default:
					t.Errorf("report %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(5), stored.Load())
		require.Equal(t, int32(5), refused.Load())
		b, ok, err := s.Binding(ctx, "inst-1")
		require.NoError(t, err)
		require.True(t, ok)
		got, _, err := s.LatestReport(ctx, "inst-1")
		require.NoError(t, err)
		require.Equal(t, b.AppUserID, got.AppUserID, "the stored report is not the bound user's")
	})
}

// RecordStore is the store a ReportRecords run fills: its user map and
// its reports.
type RecordStore interface {
	UserMapStore
	// PutReport stores r as its installation's report unless the stored
	// one has a later reported_at, and reports whether it did.
	PutReport(ctx context.Context, r issuer.Report) (bool, error)
}

// Records walks a store's audit records (its EachReportRecord), calling fn
// with each until fn returns an error, which it returns as is.
type Records func(ctx context.Context, fn func(record string) error) error

// ReportRecords runs the contract of a store's audit records
// (EachReportRecord) against the store open returns, new and empty, with
// the walk of its records (which may close the store first): each report
// comes once, joined with its app user's active mapping, as the report
// schema's 18 fields in audit order joined by sep, app_signed_in as 0 or 1
// and the times as decimal Unix nanoseconds (empty when none); fn's error
// stops the walk, and a done context yields ctx.Err().
func ReportRecords(t *testing.T, sep string, open func(t *testing.T) (RecordStore, Records)) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 123456789, time.UTC)
	db, each := open(t)
	for _, app := range []string{"alice", "bob"} {
		_, err := db.PutUser(ctx, app, "v-"+app+"-1")
		require.NoError(t, err)
	}
	require.NoError(t, db.MarkUserDeleted(ctx, "bob", "v-bob-1"))
	_, err := db.PutUser(ctx, "bob", "v-bob-2")
	require.NoError(t, err)
	_, err = db.PutUser(ctx, "carol", "v-carol-1")
	require.NoError(t, err)
	require.NoError(t, db.MarkUserDeleted(ctx, "carol", "v-carol-1"))
	put := func(r issuer.Report) {
		t.Helper()
		stored, err := db.PutReport(ctx, r)
		require.NoError(t, err)
		require.True(t, stored)
	}
	// A valid report of a signed-out iOS 1.8 app, taken at t0.
	signedOut := func(inst string) issuer.Report {
		return issuer.Report{InstallationID: inst, Platform: fsm.IOS, SDKVersion: "1.8.5", Profile: "ios-1.8", ReportedAt: t0}
	}
	for _, app := range []string{"alice", "bob", "carol"} {
		r := signedOut("inst-" + app)
		r.AppSignedIn, r.AppUserID, r.AppVitalUserID = true, app, "v-"+app+"-1"
		r.SDKStatus, r.SDKCurrentUserID = fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, "V-"+strings.ToUpper(app)
		r.NextAttemptAt = t0.Add(time.Minute)
		put(r)
	}
	put(signedOut("inst-signed-out"))

	got := map[string][]string{}
	require.NoError(t, each(ctx, func(rec string) error {
		f := strings.Split(strings.Clone(rec), sep)
		require.Len(t, f, 18)
		require.NotContains(t, got, f[0], "a record came twice")
		got[f[0]] = f
		return nil
	}))
	require.Len(t, got, 4)
	require.Equal(t, "v-alice-1", got["inst-alice"][17])
	require.Equal(t, "v-bob-2", got["inst-bob"][17], "the active mapping, not the deleted one")
	require.Equal(t, "", got["inst-carol"][17], "no active mapping")
	require.Equal(t, "", got["inst-signed-out"][17])
	require.Equal(t, []string{"inst-alice", "ios", "1.8.5", "ios-1.8", "1", "alice", "v-alice-1", "", "",
		"configured,signedIn,useSignInToken", "V-ALICE", "", "", "", "", strconv.FormatInt(t0.Add(time.Minute).UnixNano(), 10),
		strconv.FormatInt(t0.UnixNano(), 10), "v-alice-1"}, got["inst-alice"])
	require.Equal(t, "0", got["inst-signed-out"][4])
	require.Equal(t, "", got["inst-signed-out"][15])

	// fn's error stops the walk.
	stop := errors.New("stop")
	n := 0
	require.ErrorIs(t, each(ctx, func(string) error { n++; return stop }), stop)
	require.Equal(t, 1, n)
	// A done context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, each(cctx, func(string) error { return nil }), context.Canceled)
}

func assertBound(err error) bool { return errors.Is(err, issuer.ErrInstallationBound) }

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
