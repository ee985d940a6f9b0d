package postgres

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/internal/dberr"
	"github.com/vitalsync/vitalsync/issuer"
)

// The server's "not now" answers match issuer.ErrStoreUnavailable (the
// issuer answers them 503 with Retry-After, not 500); its "never" answers
// do not.
func TestUnavailableClassifies(t *testing.T) {
	for code, want := range map[string]bool{
		"08006": true, "08001": true, "53100": true, "53300": true, "57P01": true, "57P03": true,
		"25006": true, "40001": true, "40P01": true,
		"23505": false, "42P01": false, "22P02": false,
	} {
		err := fmt.Errorf("put user: %w", unavailable(&pgconn.PgError{Code: code}))
		require.Equal(t, want, errors.Is(err, issuer.ErrStoreUnavailable), code)
		var pe *pgconn.PgError
		require.ErrorAs(t, err, &pe, "the cause stays reachable")
	}
	require.ErrorIs(t, unavailable(io.ErrUnexpectedEOF), issuer.ErrStoreUnavailable)
	require.ErrorIs(t, unavailable(dberr.Unavailable(ErrReadOnly)), ErrReadOnly)
	require.NotErrorIs(t, unavailable(errors.New("bad value")), issuer.ErrStoreUnavailable)
}
