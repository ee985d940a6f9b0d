#!/usr/bin/env bash
# Builds and installs vitalsync, saying what it is doing: a plain
# `go run ./cmd/vitalsync demo` prints nothing while its first build
# compiles SQLite's C source (about a minute), which looks like a hang.
#
#   scripts/bootstrap.sh               build and install (go install: $GOBIN, or $(go env GOPATH)/bin)
#   scripts/bootstrap.sh demo [ARGS]   then run the installed binary with ARGS
#
# It checks for a C compiler first (SQLite, github.com/mattn/go-sqlite3,
# needs cgo), says whether SQLite is already compiled in the build cache,
# and names each package as the build reaches it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "no go command: install Go $(sed -n 's/^go //p' go.mod) or later (https://go.dev/doc/install)"
  exit 1
fi
export CGO_ENABLED=1
cc=$(go env CC)
if ! command -v "${cc%% *}" >/dev/null 2>&1; then
  say "no C compiler ($cc): SQLite is compiled with cgo (Debian: apt-get install gcc libc6-dev; macOS: xcode-select --install)"
  exit 1
fi

start=$SECONDS
if [[ "$(go list -f '{{.Stale}}' github.com/mattn/go-sqlite3)" == true ]]; then
  say "building vitalsync: SQLite's C source compiles first with cgo ($cc), about a minute on a first build; later builds reuse it"
else
  say "building vitalsync: SQLite is already compiled (build cache), a few seconds"
fi
# go install -v names each package as it compiles it, on stderr; anything
# else it prints (an error) goes through as it is.
# The standard library's packages (a first element without a dot) are
# said once.
std=0
go install -v ./cmd/vitalsync 2>&1 | while IFS= read -r line; do
  case "$line" in
    github.com/mattn/go-sqlite3) say "  compiling $line (SQLite's C source: the long step)" ;;
    github.com/vitalsync/vitalsync/cmd/vitalsync) say "  compiling and linking the vitalsync command" ;;
    *[[:space:]]* | '') printf '%s\n' "$line" >&2 ;;
    *)
      first=${line%%/*}
      if [[ "$first" == *.* ]]; then
        say "  compiling $line"
      elif [[ $std == 0 ]]; then
        std=1
        say "  compiling the Go standard library"
      fi ;;
  esac
done
bin=$(go env GOBIN)
bin=${bin:-$(go env GOPATH)/bin}/vitalsync
say "installed $bin in $((SECONDS - start)) s"
if [[ $# -gt 0 ]]; then
  exec "$bin" "$@"
fi
say "run it: $bin demo (or add $(dirname "$bin") to PATH)"
