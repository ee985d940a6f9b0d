# The vitalsync image: the binary on Debian 12 (glibc, which the cgo build of
# SQLite links), a shell for Kubernetes jobs' `sh -c`, CA certificates for
# the team API and PostgreSQL over TLS, and a non-root user.
#
#   docker build -t vitalsync:dev .
#   docker build --build-arg VERSION=v0.1.0 -t vitalsync:v0.1.0 .   # at the tag, as scripts/release.sh stamps it
#   docker run --rm vitalsync:dev version
#
# The docs' Kubernetes example runs this image (docs/guides/audit.md).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# SQLite is compiled from its C source through cgo: the slowest step, said
# before it runs and kept in its own layer so later builds skip it. Its
# flags are the final build's (-trimpath is part of the cache key), or the
# final build would compile SQLite again.
RUN echo "building github.com/mattn/go-sqlite3 (SQLite's C source, cgo): about a minute" && \
    CGO_ENABLED=1 go build -v -trimpath github.com/mattn/go-sqlite3
COPY . .
# VERSION, when given, is stamped as scripts/release.sh stamps it. The VCS
# stamp (revision, time) needs the context's .git to be a repository: from
# a git worktree (whose .git is a file naming a directory outside the
# context) the build goes without it instead of failing.
ARG VERSION=
RUN vcs=false && if git rev-parse --git-dir >/dev/null 2>&1; then vcs=true; fi && \
    echo "building vitalsync ${VERSION:-(no VERSION given)}, VCS stamp: $vcs" && \
    CGO_ENABLED=1 go build -v -buildvcs=$vcs -trimpath -ldflags="-s -w${VERSION:+ -X main.releaseVersion=$VERSION}" \
      -o /out/vitalsync ./cmd/vitalsync

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates && \
    rm -rf /var/lib/apt/lists/* && \
    groupadd --system --gid 65532 vitalsync && \
    useradd --system --uid 65532 --gid 65532 --home-dir /data --create-home vitalsync
COPY --from=build /out/vitalsync /usr/local/bin/vitalsync
COPY LICENSE /usr/share/doc/vitalsync/LICENSE
USER 65532:65532
WORKDIR /data
ENTRYPOINT ["vitalsync"]
CMD ["help"]
