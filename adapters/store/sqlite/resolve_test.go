package sqlite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

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
