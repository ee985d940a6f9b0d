// Package pgtest gives each test a PostgreSQL schema of its own on the
// server named by $VITALSYNC_TEST_POSTGRES, so that tests run in parallel
// and leave nothing behind.
//
// A test that needs PostgreSQL calls URL first:
//
//  1. Without $VITALSYNC_TEST_POSTGRES the test is skipped with one line
//     naming the variable, so a laptop without PostgreSQL still passes
//     go test ./...; when $CI is set as well, the test fails instead: CI
//     must not skip them silently.
//  2. Otherwise URL creates a schema with a random name and returns the
//     variable's URL with search_path set to it: every connection opened
//     with it (any number of pools, in this process or another) sees that
//     schema only.
//  3. The schema is dropped, with everything in it, when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the test server's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test.
const EnvURL = "VITALSYNC_TEST_POSTGRES"

// Require returns $VITALSYNC_TEST_POSTGRES, skipping t when it is unset
// (failing it when $CI is set): for a test that needs the server but makes
// its schemas later, in subtests.
func Require(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("$%s is not set while $CI is: the PostgreSQL tests must run in CI", EnvURL)
		}
		t.Skipf("$%s not set: skipping a test that needs PostgreSQL", EnvURL)
	}
	return base
}

// URL returns a connection URL for a new, empty schema of the test server,
// dropped when t ends; see the package documentation.
func URL(t testing.TB) string {
	t.Helper()
	base := Require(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("$%s must be a postgres:// URL", EnvURL)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "vitalsync_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to $%s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
