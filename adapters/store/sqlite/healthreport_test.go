package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthReport(t *testing.T) {
	for _, tt := range []struct {
		err  error
		kind string
	}{
		{ErrNotFile, "not-a-file"}, {ErrNotWritable, "not-writable"}, {ErrNotDatabase, "not-a-database"},
		{ErrMixedFile, "mixed"}, {ErrNewerSchema, "newer-schema"}, {ErrMissingKey, "missing-key"},
		{ErrBadKey, "bad-key"}, {ErrCorrupt, "corrupt"}, {fmt.Errorf("wrapped: %w", ErrBadKey), "bad-key"},
		{errors.New("other"), "error"},
	} {
		require.Equal(t, tt.kind, ProblemKind(tt.err), "ProblemKind(%v)", tt.err)
	}

	_, path := openTest(t)
	ctx := context.Background()
	h, err := Inspect(ctx, path)
	require.NoError(t, err)
	rep := h.Report(nil)
	require.True(t, rep.Healthy)
	require.Equal(t, path, rep.Path)
	require.Equal(t, rep.KnownVersion, rep.SchemaVersion)
	require.Nil(t, rep.History.Oldest, "no event yet")
	require.Equal(t, HistoryMaxEvents, rep.History.LimitPerInstallation)
	require.NotNil(t, rep.Problems, "an empty list, not null, in the JSON")

	require.NoError(t, os.WriteFile(path, []byte("hello\n"), 0o600))
	h, err = Inspect(ctx, path)
	require.NoError(t, err)
	rep = h.Report(func(p Problem) string { return "fix " + p.Check })
	require.False(t, rep.Healthy)
	require.Equal(t, []ProblemReport{{Check: "header", Kind: "not-a-database", Message: h.Problems[0].Err.Error(), Fix: "fix header"}}, rep.Problems)
}
