package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/httpops"
)

// releaseVersion is the release's version, stamped by scripts/release.sh
// (go build -ldflags "-X main.releaseVersion=v0.1.0"): the tag, or
// "snapshot-" and git describe's output for a test build. It is empty in
// any other build, which reports the module version the Go toolchain
// records (the tag when built at a tag with a clean tree, otherwise a
// pseudo-version or "(devel)").
var releaseVersion string

// versionInfo is what "vitalsync version" prints: the toolchain's record
// of the build, and the SQLite library and driver it links.
type versionInfo struct {
	httpops.Build
	SQLite      string `json:"sqlite"`
	SQLiteDrive string `json:"sqlite_driver"`
}

// buildVersion reads the build information the Go toolchain embeds, with
// the release's version (releaseVersion) when the release script stamped
// one. A binary built without module support (which go build never does
// today) and not stamped reports "unknown".
func buildVersion(info *debug.BuildInfo, ok bool) versionInfo {
	return withRelease(toolchainVersion(info, ok), releaseVersion)
}

// withRelease is v with the release's version, if there is one.
func withRelease(v versionInfo, release string) versionInfo {
	if release != "" {
		v.Version = release
	}
	return v
}

func toolchainVersion(info *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Build: httpops.BuildOf(info, ok), SQLite: sqlite.LibraryVersion(), SQLiteDrive: sqlite.DriverModule + " (unknown)"}
	if d, ok := v.Dep(sqlite.DriverModule); ok {
		v.SQLiteDrive = sqlite.DriverModule + " " + d
	}
	return v
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "[--format table|json]")
	format := choiceFlag(fs, "format", "table", "output", "table", "json")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	v := buildVersion(debug.ReadBuildInfo())
	if format.String() == "json" {
		return writeJSONIndent(e.stdout, v)
	}
	rev := "unknown (built without VCS information, e.g. by go run or go test)"
	if v.Revision != "" {
		rev = v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		if v.Time != "" {
			rev += ", " + v.Time
		}
	}
	_, err := fmt.Fprintf(e.stdout, "vitalsync %s\nmodule:   %s\nrevision: %s\ngo:       %s %s\nsqlite:   %s (%s)\n",
		display(v.Version), display(v.Module), display(rev), display(v.Go), v.Platform, display(v.SQLite), display(v.SQLiteDrive))
	return err
}
