package httpops_test

import (
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/httpops"
)

func TestBuildOf(t *testing.T) {
	b := httpops.BuildOf(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/backend", Version: "v1.2.3"},
		Deps: []*debug.Module{{Path: "github.com/mattn/go-sqlite3", Version: "v1.14.53"}},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-28T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true)
	js, err := json.Marshal(b)
	require.NoError(t, err)
	require.JSONEq(t, `{"module":"example.com/backend","version":"v1.2.3","vcs":"git","vcs_revision":"abc123",
		"vcs_time":"2026-11-28T10:00:00Z","vcs_modified":true,"go":"go1.26.0","platform":"`+b.Platform+`"}`, string(js))
	v, ok := b.Dep("github.com/mattn/go-sqlite3")
	require.True(t, ok)
	require.Equal(t, "v1.14.53", v)
	_, ok = b.Dep("example.com/none")
	require.False(t, ok)

	none := httpops.BuildOf(nil, false)
	require.Equal(t, "unknown", none.Version)
	require.Equal(t, "github.com/vitalsync/vitalsync", none.Module)
	require.NotEmpty(t, httpops.ReadBuild().Go)
}
