package httpops

import (
	"runtime"
	"runtime/debug"
)

// Build is what the Go toolchain recorded in the running binary: its
// module's path and version, the VCS stamp of the checkout it was built
// from, and the Go version and platform. The field names are stable JSON.
type Build struct {
	Module   string `json:"module"`
	Version  string `json:"version"` // the module version: a tag, a pseudo-version or "(devel)"; "unknown" without build information
	VCS      string `json:"vcs,omitempty"`
	Revision string `json:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`

	deps []*debug.Module
}

// ReadBuild is BuildOf(debug.ReadBuildInfo()).
func ReadBuild() Build { return BuildOf(debug.ReadBuildInfo()) }

// BuildOf reads info, as debug.ReadBuildInfo returns it; without build
// information (ok false) the module is github.com/vitalsync/vitalsync and
// the version "unknown".
func BuildOf(info *debug.BuildInfo, ok bool) Build {
	b := Build{Module: "github.com/vitalsync/vitalsync", Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok {
		return b
	}
	if info.Main.Path != "" {
		b.Module = info.Main.Path
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	b.Go, b.deps = info.GoVersion, info.Deps
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs":
			b.VCS = s.Value
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// Dep returns the version of the module path the binary was built with,
// and false when it holds no such module.
func (b Build) Dep(path string) (string, bool) {
	for _, d := range b.deps {
		if d.Path == path {
			return d.Version, true
		}
	}
	return "", false
}
