#!/usr/bin/env bash
# Builds the release archives of vitalsync: one per target, each holding the
# binary, LICENSE and README.md, and a SHA256SUMS file, in dist/.
#
#   scripts/release.sh                     every target this machine can build
#   scripts/release.sh linux/amd64 ...     only these
#   SNAPSHOT=1 scripts/release.sh          build from a commit that is not a release tag
#   DIST=DIR scripts/release.sh            write to DIR instead of dist/
#
# A release is built from an annotated tag vX.Y.Z at HEAD with a clean tree
# (docs/install.md says how one is cut). The version, the tag or for a
# snapshot "snapshot-" and `git describe --tags --always --dirty`, names the
# archives and is stamped into the binary (-X main.releaseVersion, see
# cmd/vitalsync/version.go): `vitalsync version` (or --version) prints it
# first, then the VCS revision the toolchain records.
#
# vitalsync needs cgo: SQLite (github.com/mattn/go-sqlite3) is compiled
# from its C source. So each target needs a C compiler for it:
#
#   linux/amd64   gcc, or x86_64-linux-gnu-gcc on another host
#                 (Debian: gcc, or gcc-x86-64-linux-gnu)
#   linux/arm64   aarch64-linux-gnu-gcc on an amd64 host, gcc on an arm64 one
#                 (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
#   darwin/amd64  clang -arch x86_64 with the macOS SDK: on a Mac (Xcode's
#   darwin/arm64  command line tools), where clang builds both architectures
#
# A target whose compiler is missing is skipped with a line naming what to
# install; the script fails if it built nothing, or if a target given by
# name cannot be built. The Linux binaries link glibc dynamically (as the
# Debian-based image does); they run on glibc 2.36 (Debian 12) and later.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'release: %s\n' "$*" >&2; }

version=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || true)
if [[ -z "$version" || -n "$(git status --porcelain)" ]]; then
  if [[ "${SNAPSHOT:-}" != 1 ]]; then
    say "HEAD is not a release tag vX.Y.Z on a clean tree (git tag -a v0.1.0 -m v0.1.0, or SNAPSHOT=1 for a test build)"
    exit 2
  fi
  version="snapshot-$(git describe --tags --match 'v[0-9]*' --always --dirty)"
fi

host_os=$(go env GOHOSTOS)
host_arch=$(go env GOHOSTARCH)

# compiler prints the C compiler for a target, or nothing.
compiler() {
  local os=$1 arch=$2
  case "$os/$arch" in
    linux/amd64)
      if [[ "$host_os/$host_arch" == linux/amd64 ]] && command -v gcc >/dev/null; then echo gcc
      elif command -v x86_64-linux-gnu-gcc >/dev/null; then echo x86_64-linux-gnu-gcc; fi ;;
    linux/arm64)
      if [[ "$host_os/$host_arch" == linux/arm64 ]] && command -v gcc >/dev/null; then echo gcc
      elif command -v aarch64-linux-gnu-gcc >/dev/null; then echo aarch64-linux-gnu-gcc; fi ;;
    darwin/amd64)
      [[ "$host_os" == darwin ]] && command -v clang >/dev/null && echo "clang -arch x86_64" ;;
    darwin/arm64)
      [[ "$host_os" == darwin ]] && command -v clang >/dev/null && echo "clang -arch arm64" ;;
  esac
  return 0
}

# missing says what a target lacks.
missing() {
  case "$1" in
    linux/amd64) echo "no gcc for linux/amd64 (Debian: apt-get install gcc-x86-64-linux-gnu)" ;;
    linux/arm64) echo "no aarch64-linux-gnu-gcc (Debian: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross; CI installs them)" ;;
    darwin/*) echo "darwin needs clang and the macOS SDK: run this script on a Mac" ;;
  esac
}

all=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
named=0
targets=("${all[@]}")
if [[ $# -gt 0 ]]; then
  named=1
  targets=("$@")
fi

say "version $version"
dist=${DIST:-dist}
rm -rf "$dist"
mkdir -p "$dist"
built=0
for target in "${targets[@]}"; do
  os=${target%/*} arch=${target#*/}
  if [[ ! " ${all[*]} " == *" $target "* ]]; then
    say "unknown target $target (one of ${all[*]})"
    exit 2
  fi
  cc=$(compiler "$os" "$arch")
  if [[ -z "$cc" ]]; then
    say "skipping $target: $(missing "$target")"
    [[ $named == 1 ]] && exit 1
    continue
  fi
  name="vitalsync_${version}_${os}_${arch}"
  say "building $target with CC='$cc' (CGO_ENABLED=1)"
  say "  SQLite's C source compiles first: about a minute the first time for each target, cached afterwards"
  mkdir -p "$dist/$name"
  # -trimpath: no build paths in the binary. -buildvcs=true: the VCS stamp
  # (revision, time, modified) even where GOFLAGS turns it off.
  CGO_ENABLED=1 GOOS=$os GOARCH=$arch CC="$cc" \
    go build -buildvcs=true -trimpath -ldflags="-s -w -X main.releaseVersion=$version" \
    -o "$dist/$name/vitalsync" ./cmd/vitalsync
  cp LICENSE README.md "$dist/$name/"
  tar -C "$dist" -czf "$dist/$name.tar.gz" "$name"
  rm -rf "${dist:?}/$name"
  built=$((built + 1))
done
if [[ $built == 0 ]]; then
  say "built nothing"
  exit 1
fi
(cd "$dist" && sha256sum ./*.tar.gz | sed 's| \./| |' > SHA256SUMS)
say "done: $built archive(s) in $dist/, checksums in $dist/SHA256SUMS"
