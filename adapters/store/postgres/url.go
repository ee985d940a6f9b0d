package postgres

import (
	"net/url"
	"strings"
)

// IsURL reports whether s names a PostgreSQL database by URL (postgres://
// or postgresql://, as Open takes) rather than a file path.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redacted is a database URL without its password, for messages and logs;
// "postgres" when it does not parse.
func Redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "postgres"
}
