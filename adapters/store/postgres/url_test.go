package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsURLAndRedacted(t *testing.T) {
	for spec, want := range map[string]bool{
		"postgres://u:p@db/app": true, "postgresql://db/app": true, "issuer.db": false, "/var/lib/postgres://x": false,
	} {
		require.Equal(t, want, IsURL(spec), "IsURL(%q)", spec)
	}
	require.Equal(t, "postgres://u:xxxxx@db:5432/app?sslmode=require", Redacted("postgres://u:hunter2@db:5432/app?sslmode=require"))
	require.Equal(t, "postgres", Redacted("postgres://u:p@db:bad port/x"), "an unparsable URL is not echoed")
}
