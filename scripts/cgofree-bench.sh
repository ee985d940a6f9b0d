#!/usr/bin/env bash
# Compares vitalsync's SQLite driver, github.com/mattn/go-sqlite3 (cgo), with
# two cgo-free ones, modernc.org/sqlite (SQLite's C translated to Go) and
# github.com/ncruces/go-sqlite3 (SQLite compiled to WebAssembly, run by
# wazero), on the operations that matter to vitalsync, with its schema:
#
#   PointRead      SELECT strategy FROM devices WHERE installation = ? (the floor)
#   LaunchRead     a consistent launch's reads: the device row (19 columns,
#                  a 900-byte sealed token) and the journal row (14 columns),
#                  both prepared once, as the store does
#   ReportWrite    the issuer's PutReport: BEGIN IMMEDIATE, the upsert of one
#                  report among 10^5, RowsAffected, COMMIT (WAL, synchronous=NORMAL)
#   ReportScan     EachReport's scan: 10^5 reports, 17 columns, in key order
#   AuditScan      the audit's join: 10^5 reports LEFT JOIN user_map, one
#                  record string a row
#
# and the cost of building each driver from a cold build cache, beside the
# cold build of cmd/vitalsync itself.
#
#   scripts/cgofree-bench.sh            benchmarks, then builds
#   scripts/cgofree-bench.sh bench      benchmarks only
#   scripts/cgofree-bench.sh build      cold builds only
#   ROUNDS=3 BENCHTIME=1s DRIVERS="mattn modernc ncruces" scripts/cgofree-bench.sh
#   KEEP=1 scripts/cgofree-bench.sh     keep the scratch module (its path is printed)
#
# Everything happens in a scratch Go module in a temporary directory: the
# repository's go.mod is not touched and no cgo-free driver becomes a
# dependency of vitalsync. The scratch module embeds a copy of the store's
# migrations (adapters/store/sqlite/migrations), so the tables are the
# store's, built the way the store builds them, and copies of the store's
# statements, taken from its source (adapters/store/sqlite's device.go,
# journal.go and reports.go, adapters/store/internal/issuersql's
# reports.go) when the script runs. Each
# driver's test binary is built once, then the binaries run in turn, ROUNDS
# times, so that the drivers share the machine's load; the table gives each
# benchmark's median over the rounds of its CPU time per operation (the
# process's user+sys time over the loop: on a shared machine it varies less
# than wall time) and of its wall time.
#
# The mattn version is the repository's (go.mod); MODERNC and NCRUCES pick
# the others' versions. It needs the Go module proxy (or a module cache that
# holds them) and gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

what=${1:-all}
case "$what" in all | bench | build) ;; *) echo "usage: $0 [all|bench|build]" >&2; exit 2 ;; esac
ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-1s}
DRIVERS=${DRIVERS:-mattn modernc ncruces}
MODERNC=${MODERNC:-v1.62.0}
NCRUCES=${NCRUCES:-v0.37.0}
MATTN=$(go list -m -f '{{.Version}}' github.com/mattn/go-sqlite3)

say() { printf 'cgofree-bench: %s\n' "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vitalsync-cgofree.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
  say "scratch module kept in $work"
else
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
fi
mod=$work/mod
mkdir -p "$mod/drv" "$mod/probe" "$mod/hello" "$mod/migrations/device" "$mod/migrations/issuer"
cp "$root"/adapters/store/sqlite/migrations/*.sql "$mod/migrations/"
cp "$root"/adapters/store/sqlite/migrations/device/*.sql "$mod/migrations/device/"
cp "$root"/adapters/store/sqlite/migrations/issuer/*.sql "$mod/migrations/issuer/"

cat > "$mod/go.mod" <<EOF
module cgofreebench

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
EOF

cat > "$mod/drv/mattn.go" <<'EOF'
//go:build mattn

package drv

import (
	"strconv"

	sqlite3 "github.com/mattn/go-sqlite3"
)

const Name = "sqlite3"
const Module = "github.com/mattn/go-sqlite3"

// The store's DSNs (adapters/store/sqlite: writerDSN, readerDSN).
func WriterDSN(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_busy_timeout=" + strconv.Itoa(BusyMillis) +
		"&_txlock=immediate&_foreign_keys=1&_synchronous=NORMAL&_stmt_cache_size=32"
}

func ReaderDSN(path string) string {
	return "file:" + path + "?mode=ro&_busy_timeout=" + strconv.Itoa(BusyMillis) + "&_foreign_keys=1&_stmt_cache_size=32"
}

var _ = sqlite3.ErrBusy
EOF

cat > "$mod/drv/modernc.go" <<'EOF'
//go:build modernc

package drv

import _ "modernc.org/sqlite"

const Name = "sqlite"
const Module = "modernc.org/sqlite"
EOF

cat > "$mod/drv/ncruces.go" <<'EOF'
//go:build ncruces

package drv

import _ "github.com/ncruces/go-sqlite3/driver" // embeds SQLite's WebAssembly build

const Name = "sqlite3"
const Module = "github.com/ncruces/go-sqlite3"
EOF

cat > "$mod/drv/pragma.go" <<'EOF'
//go:build modernc || ncruces

package drv

import "strconv"

// The store's settings in the DSN keys of the cgo-free drivers, which
// both take SQLite's pragmas as _pragma=name(value).
func WriterDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(" + strconv.Itoa(BusyMillis) +
		")&_txlock=immediate&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

func ReaderDSN(path string) string {
	return "file:" + path + "?mode=ro&_pragma=busy_timeout(" + strconv.Itoa(BusyMillis) + ")&_pragma=foreign_keys(1)"
}
EOF

cat > "$mod/drv/drv.go" <<'EOF'
// Package drv opens vitalsync's databases with the driver its build tag
// picks (mattn, modernc or ncruces) and builds their schema from the
// store's migrations.
package drv

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
)

// BusyMillis is the store's busy timeout.
const BusyMillis = 5000

//go:embed migrations
var migrations embed.FS

// Open opens path's writer (one connection, as the store's) and reader
// pool (four read-only connections), applying the migrations of kind
// ("device" or "issuer") first, each in its own transaction with its
// user_version, as the store does.
func Open(ctx context.Context, path, kind string) (w, r *sql.DB, err error) {
	if w, err = sql.Open(Name, WriterDSN(path)); err != nil {
		return nil, nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := migrate(ctx, w, kind); err != nil {
		w.Close()
		return nil, nil, err
	}
	if r, err = sql.Open(Name, ReaderDSN(path)); err != nil {
		w.Close()
		return nil, nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return w, r, nil
}

func migrate(ctx context.Context, db *sql.DB, kind string) error {
	var names []string
	for _, pattern := range []string{"migrations/*.sql", "migrations/" + kind + "/*.sql"} {
		m, err := fs.Glob(migrations, pattern)
		if err != nil {
			return err
		}
		sort.Strings(m)
		names = append(names, m...)
	}
	if len(names) < 11 {
		return fmt.Errorf("%d migrations for %s", len(names), kind)
	}
	for i, name := range names {
		text, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// SQLiteVersion is the SQLite library's version as the driver runs it.
func SQLiteVersion(ctx context.Context, db *sql.DB) (string, error) {
	var v string
	err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v)
	return v, err
}
EOF
mv "$mod/migrations" "$mod/drv/migrations"

# The statements the benchmarks run, copied from the store's source
# (each a Go constant of its own): the device's and the journal's reads,
# the reports' columns and upsert, and the audit's join.
statements() {
  local file=$1
  shift
  awk -v names="$(IFS='|'; echo "$*")" '
    $0 ~ "^const (" names ") = " { on = 1; ticks = 0 }
    on { print; ticks += gsub(/`/, "`"); if (ticks % 2 == 0 && $0 !~ /\+$/) { on = 0; print "" } }' "$root/$file"
}
{
  printf '// Code copied from the store by scripts/cgofree-bench.sh.\n\npackage drv\n\n'
  statements adapters/store/sqlite/device.go loadDeviceSQL
  statements adapters/store/sqlite/journal.go journalColumns loadJournalSQL
  statements adapters/store/internal/issuersql/reports.go Columns Updates putReportSQL
  statements adapters/store/sqlite/reports.go reportRecordExpr reportRecordSQL
} > "$mod/drv/statements.go"
for name in loadDeviceSQL journalColumns loadJournalSQL Columns Updates putReportSQL reportRecordExpr reportRecordSQL; do
  grep -q "^const $name = " "$mod/drv/statements.go" || { say "no constant $name in the store's source"; exit 1; }
done

cat > "$mod/probe/main.go" <<'EOF'
// Command probe is the smallest program that links a driver: it builds a
// device database and prints the driver and SQLite versions. Its cold
// build time is the driver's cost to a build.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"cgofreebench/drv"
)

func main() {
	dir, err := os.MkdirTemp("", "probe")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	w, r, err := drv.Open(ctx, filepath.Join(dir, "device.db"), "device")
	if err != nil {
		panic(err)
	}
	defer w.Close()
	defer r.Close()
	v, err := drv.SQLiteVersion(ctx, r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: SQLite %s\n", drv.Module, v)
}
EOF

cat > "$mod/hello/main.go" <<'EOF'
// Command hello links database/sql and no driver: its cold build is the
// part of every row of the build table that is not the driver.
package main

import (
	"database/sql"
	"fmt"
)

func main() { fmt.Println(sql.Drivers()) }
EOF

cat > "$mod/drv/bench_test.go" <<'EOF'
package drv

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const (
	t0      = int64(1_780_000_000_000_000_000)
	reports = 100_000
)

// reportWriteSQL is the issuer's PutReport upsert in SQLite's numbered
// parameters, as adapters/store/sqlite runs it.
var reportWriteSQL = strings.ReplaceAll(putReportSQL, "$", "?")

func open(tb testing.TB, kind string) (w, r *sql.DB) {
	tb.Helper()
	w, r, err := Open(context.Background(), filepath.Join(tb.TempDir(), kind+".db"), kind)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(); w.Close() })
	return w, r
}

// device is a phone's database after a sign-in: its device row with a
// sealed token (the store's benchDB) and its journal entry.
func device(tb testing.TB) (w, r *sql.DB) {
	w, r = open(tb, "device")
	ctx := context.Background()
	if _, err := w.ExecContext(ctx, `INSERT INTO devices (installation, strategy, environment, region,
		has_token, token_user_id, token_team_id, token_environment, token_region, access_token,
		refresh_token, token_expiry, updated_at) VALUES ('dev', 'jwt', 'sandbox', 'us', 1,
		'0d5c4d0e-7c4b-4a37-9f7e-0c7d7e3e4f11', 'team', 'sandbox', 'us', ?, ?, ?, ?)`,
		make([]byte, 900+28), make([]byte, 19+28), t0, t0); err != nil {
		tb.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO journal (installation, last_observed, profile,
		app_user_id, vital_user_id, updated_at) VALUES ('dev', 'token', 'ios-1.8', 'app', 'v', ?)`, t0); err != nil {
		tb.Fatal(err)
	}
	return w, r
}

// issuer is a backend's database with n reports, each app user mapped.
func issuer(tb testing.TB, n int) (w, r *sql.DB) {
	w, r = open(tb, "issuer")
	ctx := context.Background()
	if _, err := w.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
		INSERT INTO reports (`+Columns+`)
		SELECT printf('inst-%06d', i), 'ios', '1.8.2', 'ios-1.8', 1, printf('app-user-%06d', i),
			printf('%08x-7c4b-4a37-9f7e-0c7d7e3e4f11', i), 'sandbox', 'us', 'configured,signedIn,useSignInToken',
			printf('%08x-7c4b-4a37-9f7e-0c7d7e3e4f11', i), 'sandbox', 'us', 'token', '', NULL, ?2 + i FROM n`,
		n, t0); err != nil {
		tb.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO user_map (app_user_id, vital_user_id, created_at)
		SELECT app_user_id, app_vital_user_id, ?1 FROM reports`, t0); err != nil {
		tb.Fatal(err)
	}
	return w, r
}

// cpu is the process's CPU time so far (user+sys, all threads): on a
// shared machine the CPU time of an operation varies less than its wall
// time, which includes waiting for a core.
func cpu() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func reportCPU(b *testing.B, c0 int64) {
	b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkPointRead(b *testing.B) {
	_, r := device(b)
	ctx := context.Background()
	b.ReportAllocs()
	c0 := cpu()
	for b.Loop() {
		var strategy string
		if err := r.QueryRowContext(ctx, `SELECT strategy FROM devices WHERE installation = ?`, "dev").Scan(&strategy); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

func BenchmarkLaunchRead(b *testing.B) {
	_, r := device(b)
	ctx := context.Background()
	dev, err := r.PrepareContext(ctx, loadDeviceSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	jr, err := r.PrepareContext(ctx, loadJournalSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer jr.Close()
	b.ReportAllocs()
	c0 := cpu()
	for b.Loop() {
		var (
			s                                               [16]string
			apiKey, access, refresh                         []byte
			hasToken, pending                               bool
			expiry                                          sql.NullInt64
			inst, obs, prof, env, reg, app, vital, inflight string
			action, lastErr                                 string
			attempts, updated                               int64
			next, resolved                                  sql.NullInt64
		)
		if err := dev.QueryRowContext(ctx, "dev").Scan(&s[0], &s[1], &s[2], &apiKey, &s[3], &s[4], &s[5], &s[6],
			&hasToken, &s[7], &s[8], &s[9], &s[10], &s[11], &access, &refresh, &expiry, &pending, &s[12]); err != nil {
			b.Fatal(err)
		}
		if err := jr.QueryRowContext(ctx, "dev").Scan(&inst, &obs, &prof, &env, &reg, &app, &vital, &inflight,
			&attempts, &next, &action, &lastErr, &resolved, &updated); err != nil {
			b.Fatal(err)
		}
		if !hasToken || len(access) != 928 || vital != "v" {
			b.Fatal("wrong row")
		}
	}
	reportCPU(b, c0)
}

func BenchmarkReportWrite(b *testing.B) {
	w, _ := issuer(b, reports)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	c0 := cpu()
	for b.Loop() {
		i++
		id := i % reports
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := tx.ExecContext(ctx, reportWriteSQL, fmt.Sprintf("inst-%06d", id), "ios", "1.8.2", "ios-1.8", true,
			fmt.Sprintf("app-user-%06d", id), "0d5c4d0e-7c4b-4a37-9f7e-0c7d7e3e4f11", "sandbox", "us",
			"configured,signedIn,useSignInToken", "0d5c4d0e-7c4b-4a37-9f7e-0c7d7e3e4f11", "sandbox", "us", "token", "",
			nil, t0+int64(reports+i))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			b.Fatal(n, err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

func BenchmarkReportScan(b *testing.B) {
	benchScan(b, `SELECT `+Columns+` FROM reports ORDER BY installation_id`, func(rows *sql.Rows) (int, error) {
		var (
			s        [14]string
			signedIn bool
			next, at sql.NullInt64
		)
		err := rows.Scan(&s[0], &s[1], &s[2], &s[3], &signedIn, &s[4], &s[5], &s[6], &s[7], &s[8], &s[9],
			&s[10], &s[11], &s[12], &s[13], &next, &at)
		return len(s[0]), err
	})
}

func BenchmarkAuditScan(b *testing.B) {
	var rec sql.RawBytes
	benchScan(b, reportRecordSQL, func(rows *sql.Rows) (int, error) {
		err := rows.Scan(&rec)
		return len(rec), err
	})
}

// benchScan reads every row of query on an issuer database of reports
// rows, each with read, which returns the size of what it read.
func benchScan(b *testing.B, query string, read func(*sql.Rows) (int, error)) {
	_, r := issuer(b, reports)
	ctx := context.Background()
	b.ReportAllocs()
	c0 := cpu()
	for b.Loop() {
		rows, err := r.QueryContext(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		n, size := 0, 0
		for rows.Next() {
			k, err := read(rows)
			if err != nil {
				b.Fatal(err)
			}
			n++
			size += k
		}
		if err := rows.Err(); err != nil || n != reports || size == 0 {
			b.Fatal(n, err)
		}
		rows.Close()
	}
	reportCPU(b, c0)
}
EOF

export GOWORK=off CGO_ENABLED=1
repo_goflags=${GOFLAGS:-}
export GOFLAGS=-mod=mod # in the scratch module only: the repository's build keeps its own
(
  cd "$mod"
  go mod edit -require="github.com/mattn/go-sqlite3@$MATTN" -require="modernc.org/sqlite@$MODERNC" \
    -require="github.com/ncruces/go-sqlite3@$NCRUCES"
  go mod tidy >/dev/null 2>&1 || go mod download
)

say "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(go version)"

if [[ "$what" != build ]]; then
  for d in $DRIVERS; do
    say "building the $d benchmark binary"
    (cd "$mod/drv" && go test -c -tags "$d" -o "$work/$d.test" .)
    (cd "$mod/probe" && go run -tags "$d" . >&2)
  done
  : > "$work/bench.txt"
  for round in $(seq "$ROUNDS"); do
    for d in $DRIVERS; do
      say "round $round/$ROUNDS: $d"
      (cd "$work" && "./$d.test" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$BENCHTIME") |
        awk -v d="$d" '/^Benchmark/ { print d, $0 }' | tee -a "$work/bench.txt" >&2
    done
  done
  # The table: each benchmark's median ns/op over the rounds per driver,
  # with its B/op and allocs/op, and its ratio to mattn's median.
  echo
  echo "| benchmark | driver | CPU ns/op | × mattn | wall ns/op | B/op | allocs/op |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  awk '
    { name = $2; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
      for (i = 3; i <= NF; i++) {
        if ($(i+1) == "ns/op") ns[name, $1] = ns[name, $1] " " $i
        if ($(i+1) == "cpu-ns/op") cns[name, $1] = cns[name, $1] " " $i
        if ($(i+1) == "B/op") bytes[name, $1] = $i
        if ($(i+1) == "allocs/op") allocs[name, $1] = $i
      }
      if (!(name in seen)) { seen[name] = 1; order[++n] = name }
      if (!($1 in dseen)) { dseen[$1] = 1; dorder[++m] = $1 }
    }
    function median(s,   a, k, i, j, t) {
      k = split(s, a, " ")
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
      for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
        b = order[i]; d = dorder[j]
        if (ns[b, d] == "") continue
        med = median(cns[b, d]); base = cns[b, "mattn"] == "" ? "" : median(cns[b, "mattn"])
        printf "| %s | %s | %d | %s | %d | %d | %d |\n", b, d, med, base == "" ? "" : sprintf("%.2f", med / base), median(ns[b, d]), bytes[b, d], allocs[b, d]
      }
    }' "$work/bench.txt"
fi

if [[ "$what" != bench ]]; then
  # Cold builds: an empty build cache each, so the standard library is
  # compiled too (the same for every row); CPU time is user+sys.
  cold() {
    local label=$1 dir=$2
    shift 2
    local cache
    cache=$(mktemp -d "$work/cache.XXXXXX")
    say "cold build: $label"
    local t status wall user sys size
    t=$( { cd "$dir" && GOCACHE=$cache /usr/bin/time -f '%x %e %U %S' "$@" 2>&1 >/dev/null | tail -1; } )
    read -r status wall user sys <<<"$t"
    if [[ "$status" != 0 ]]; then
      say "the build failed: $label"
      exit 1
    fi
    size=$(stat -c %s "$work/bin")
    printf '| %s | %s | %s | %.1f MB |\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')" \
      "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')"
    chmod -R u+w "$cache" && rm -rf "$cache" "$work/bin"
  }
  echo
  echo "| cold build | wall s | CPU s (user+sys) | binary |"
  echo "|---|---:|---:|---:|"
  cold "hello (database/sql, no driver)" "$mod/hello" go build -o "$work/bin" .
  for d in $DRIVERS; do
    cold "probe, $d" "$mod/probe" go build -tags "$d" -o "$work/bin" .
  done
  cold "cmd/vitalsync (mattn, cgo)" "$root" env GOFLAGS="$repo_goflags" go build -o "$work/bin" ./cmd/vitalsync
fi
