package sqlite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEndpointsRememberedOnce(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	_, found, err := db.LoadEndpoints(ctx)
	require.NoError(t, err)
	require.False(t, found, "a new database remembers nothing")

	first := Endpoints{APIBaseURL: "http://127.0.0.1:8080", AuthBaseURL: "http://127.0.0.1:8080/auth"}
	got, err := db.RememberEndpoints(ctx, first, false)
	require.NoError(t, err)
	require.Equal(t, first.APIBaseURL, got.APIBaseURL)
	require.False(t, got.UpdatedAt.IsZero())
	require.EqualValues(t, 1, db.WriteCount())

	// The same URLs again: nothing written.
	_, err = db.RememberEndpoints(ctx, first, false)
	require.NoError(t, err)
	require.EqualValues(t, 1, db.WriteCount())

	// Others are refused without replace, and nothing changes.
	other := Endpoints{APIBaseURL: "https://api.sandbox.us.junction.com", AuthBaseURL: "https://auth.sandbox.us.junction.com"}
	got, err = db.RememberEndpoints(ctx, other, false)
	require.ErrorIs(t, err, ErrEndpointsChanged)
	require.Equal(t, first.APIBaseURL, got.APIBaseURL, "the remembered ones come back with the error")
	require.EqualValues(t, 1, db.WriteCount())

	// They survive a reopen.
	require.NoError(t, db.Close())
	db, err = OpenDevice(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	got, found, err = db.LoadEndpoints(ctx)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, first.APIBaseURL, got.APIBaseURL)
	require.Equal(t, first.AuthBaseURL, got.AuthBaseURL)

	// With replace they change.
	got, err = db.RememberEndpoints(ctx, other, true)
	require.NoError(t, err)
	require.Equal(t, other.AuthBaseURL, got.AuthBaseURL)
	got, _, err = db.LoadEndpoints(ctx)
	require.NoError(t, err)
	require.Equal(t, other.APIBaseURL, got.APIBaseURL)
}

func TestEndpointsInvalidAndCorrupt(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	for _, e := range []Endpoints{{}, {APIBaseURL: "http://x"}, {AuthBaseURL: "http://x"}} {
		_, err := db.RememberEndpoints(ctx, e, true)
		require.ErrorIs(t, err, ErrInvalid, "%+v", e)
		var ce *ColumnError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, tableEndpoints, ce.Table)
	}
	require.Zero(t, db.WriteCount())

	rawExec(t, path, `INSERT INTO endpoints (id, api_url, auth_url, updated_at) VALUES (1, '', 'http://x', 0)`)
	_, _, err := db.LoadEndpoints(ctx)
	require.ErrorIs(t, err, ErrCorrupt)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = db.LoadEndpoints(cancelled)
	require.ErrorIs(t, err, context.Canceled)
	_, err = db.RememberEndpoints(cancelled, Endpoints{APIBaseURL: "http://a", AuthBaseURL: "http://b"}, true)
	require.ErrorIs(t, err, context.Canceled)
}

func TestResolveEndpoints(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	local := Endpoints{APIBaseURL: "http://127.0.0.1:8080", AuthBaseURL: "http://127.0.0.1:8080/auth"}
	for _, given := range []Endpoints{{}, {APIBaseURL: local.APIBaseURL}, {AuthBaseURL: local.AuthBaseURL}} {
		_, err := db.ResolveEndpoints(ctx, given, false)
		require.ErrorIs(t, err, ErrNoEndpoints, "%+v with nothing remembered", given)
	}
	require.Zero(t, db.WriteCount())

	got, err := db.ResolveEndpoints(ctx, local, false)
	require.NoError(t, err)
	require.True(t, got.same(local))
	require.EqualValues(t, 1, db.WriteCount(), "the first URLs are remembered")
	for _, given := range []Endpoints{{}, {APIBaseURL: local.APIBaseURL}, {AuthBaseURL: local.AuthBaseURL}, local} {
		got, err := db.ResolveEndpoints(ctx, given, false)
		require.NoError(t, err)
		require.True(t, got.same(local), "%+v completed from the remembered ones", given)
	}
	require.EqualValues(t, 1, db.WriteCount(), "the remembered URLs again write nothing")

	other := Endpoints{APIBaseURL: "http://127.0.0.1:9090", AuthBaseURL: local.AuthBaseURL}
	_, err = db.ResolveEndpoints(ctx, Endpoints{APIBaseURL: other.APIBaseURL}, false)
	require.ErrorIs(t, err, ErrEndpointsChanged)
	require.Contains(t, err.Error(), local.APIBaseURL)
	require.Contains(t, err.Error(), other.APIBaseURL)
	got, err = db.ResolveEndpoints(ctx, Endpoints{APIBaseURL: other.APIBaseURL}, true)
	require.NoError(t, err)
	require.True(t, got.same(other), "replace remembers the new API URL, keeping the auth URL")
}
