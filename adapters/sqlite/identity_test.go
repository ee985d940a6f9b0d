package sqlite

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/issuer"
)

// An installation's identity is created once (random, or the given ID),
// survives a relaunch, sealed; its sequence only grows; a renewal replaces
// ID and key and restarts the sequence.
func TestInstallationIdentity(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	_, err := db.NextReportSequence(ctx, "default")
	require.ErrorIs(t, err, ErrInvalid, "a sequence before the identity")

	id, key, err := db.InstallationIdentity(ctx, "default", "")
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	require.Len(t, key, issuer.InstallationKeySize)
	other, _, err := db.InstallationIdentity(ctx, "second", "")
	require.NoError(t, err)
	require.NotEqual(t, id, other)
	given, _, err := db.InstallationIdentity(ctx, "phone-1", "phone-1")
	require.NoError(t, err)
	require.Equal(t, "phone-1", given)

	for want := uint64(1); want <= 3; want++ {
		seq, err := db.NextReportSequence(ctx, "default")
		require.NoError(t, err)
		require.Equal(t, want, seq)
	}
	db = reopen(t, db, path)
	again, againKey, err := db.InstallationIdentity(ctx, "default", "ignored")
	require.NoError(t, err)
	require.Equal(t, id, again)
	require.Equal(t, key, againKey)
	seq, err := db.NextReportSequence(ctx, "default")
	require.NoError(t, err)
	require.Equal(t, uint64(4), seq)

	// The key is sealed: it is not in the file in the clear.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(raw), string(key))

	newID, newKey, err := db.RenewInstallationIdentity(ctx, "default")
	require.NoError(t, err)
	require.NotEqual(t, id, newID)
	require.NotEqual(t, key, newKey)
	seq, err = db.NextReportSequence(ctx, "default")
	require.NoError(t, err)
	require.Equal(t, uint64(1), seq)
	got, gotKey, err := db.InstallationIdentity(ctx, "default", "")
	require.NoError(t, err)
	require.Equal(t, newID, got)
	require.Equal(t, newKey, gotKey)

	_, _, err = db.InstallationIdentity(ctx, "bad", "id\x00")
	require.ErrorIs(t, err, ErrInvalid)
	_, _, err = db.InstallationIdentity(ctx, "", "")
	require.ErrorIs(t, err, ErrInvalid)

	// A damaged key is ErrCorrupt, never a key of another length.
	rawExec(t, path, `UPDATE installation_identity SET key = x'0102' WHERE installation = 'default'`)
	_, _, err = db.InstallationIdentity(ctx, "default", "")
	require.ErrorIs(t, err, ErrCorrupt)
}
