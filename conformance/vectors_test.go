package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

const committed = "testdata/vectors"

func freshExport(t *testing.T) *Vectors {
	t.Helper()
	v, err := Export(filepath.Join("..", "reconcile", "testdata"))
	require.NoError(t, err)
	return v
}

// The committed vectors are what a fresh export of the datadriven files
// writes; a difference names the case.
func TestCommittedVectorsMatchExport(t *testing.T) {
	files, err := freshExport(t).Files()
	require.NoError(t, err)
	for _, name := range []string{PlanFile, RunnerFile, ProfilesFile} {
		old, err := os.ReadFile(filepath.Join(committed, name))
		require.NoError(t, err, "the committed vectors are missing; run vitalsync vectors --out conformance/testdata/vectors")
		if bytes.Equal(old, files[name]) {
			continue
		}
		for _, d := range diffCases(t, old, files[name]) {
			t.Errorf("%s: %s", name, d)
		}
		t.Errorf("%s differs from a fresh export: run `vitalsync vectors --out conformance/testdata/vectors` "+
			"from the repository's root and commit the result", name)
	}
}

// diffCases names the cases (or profiles) that differ between two
// exports of one file.
func diffCases(t *testing.T, old, fresh []byte) []string {
	t.Helper()
	byName := func(data []byte) (map[string]string, []string) {
		var doc struct {
			Cases    []json.RawMessage `json:"cases"`
			Profiles []json.RawMessage `json:"profiles"`
		}
		require.NoError(t, json.Unmarshal(data, &doc))
		out, order := map[string]string{}, []string{}
		for _, c := range append(doc.Cases, doc.Profiles...) {
			var n struct {
				Name string `json:"name"`
			}
			require.NoError(t, json.Unmarshal(c, &n))
			out[n.Name] = string(c)
			order = append(order, n.Name)
		}
		return out, order
	}
	o, oOrder := byName(old)
	f, fOrder := byName(fresh)
	var diffs []string
	for _, n := range fOrder {
		switch prev, ok := o[n]; {
		case !ok:
			diffs = append(diffs, "case "+n+" is new in the export")
		case prev != f[n]:
			diffs = append(diffs, "case "+n+" differs")
		}
	}
	for _, n := range oOrder {
		if _, ok := f[n]; !ok {
			diffs = append(diffs, "case "+n+" is no longer in the export")
		}
	}
	if len(diffs) == 0 {
		diffs = append(diffs, "the cases agree but their order or the file's framing differs")
	}
	return diffs
}

func TestDiffCasesNamesTheCase(t *testing.T) {
	v := freshExport(t)
	files, err := v.Files()
	require.NoError(t, err)
	changed := *v
	changed.Plan.Cases = slices.Clone(v.Plan.Cases)
	changed.Plan.Cases[3].Expect.Discrepancy = "wrong-user"
	changed.Plan.Cases = changed.Plan.Cases[:len(changed.Plan.Cases)-1]
	mutated, err := changed.Files()
	require.NoError(t, err)
	diffs := diffCases(t, files[PlanFile], mutated[PlanFile])
	require.Equal(t, []string{"case " + v.Plan.Cases[3].Name + " differs",
		"case " + v.Plan.Cases[len(v.Plan.Cases)-1].Name + " is no longer in the export"}, diffs)
}

// The export holds every case of the datadriven files.
func TestExportCoversTheFiles(t *testing.T) {
	v := freshExport(t)
	count := func(dir, prefix string) int {
		n := 0
		names, _ := filepath.Glob(filepath.Join("..", "reconcile", "testdata", dir, "*.txt"))
		for _, name := range names {
			data, err := os.ReadFile(name)
			require.NoError(t, err)
			for _, l := range strings.Split(string(data), "\n") {
				for _, p := range strings.Split(prefix, "|") {
					if strings.HasPrefix(l, p) {
						n++
					}
				}
			}
		}
		return n
	}
	require.Equal(t, count("plan", "plan |decode"), len(v.Plan.Cases))
	require.Equal(t, count("runner", "new "), len(v.Runner.Cases))
	launches := 0
	for _, c := range v.Runner.Cases {
		for _, s := range c.Steps {
			if s.Op == OpLaunch {
				launches++
			}
		}
	}
	require.Equal(t, count("runner", "launch"), launches)
	require.Len(t, v.Profiles.Profiles, len(fsm.Profiles()))
}

func TestCommittedVectorsMatchSchema(t *testing.T) {
	for name, ref := range map[string]string{PlanFile: "#/$defs/planFile", RunnerFile: "#/$defs/runnerFile",
		ProfilesFile: "#/$defs/profilesFile"} {
		data, err := os.ReadFile(filepath.Join(committed, name))
		require.NoError(t, err)
		require.NoError(t, ValidateJSON(data, ref), name)
		require.NoError(t, ValidateJSON(data, "#"), name)
	}
}

func TestSchemaRejectsBadVectors(t *testing.T) {
	plan, err := os.ReadFile(filepath.Join(committed, PlanFile))
	require.NoError(t, err)
	runner, err := os.ReadFile(filepath.Join(committed, RunnerFile))
	require.NoError(t, err)
	cases := []struct {
		name, doc, ref, path string
		edit                 func(m map[string]any)
	}{
		{"no kind", "plan", "#/$defs/planFile", "$", func(m map[string]any) { delete(m, "kind") }},
		{"wrong kind", "plan", "#", "$", func(m map[string]any) { m["kind"] = "planner" }},
		{"extra property", "plan", "#/$defs/planFile", "$", func(m map[string]any) { m["extra"] = 1 }},
		{"unknown action", "plan", "#/$defs/planFile", "$.cases[0]", func(m map[string]any) {
			c := m["cases"].([]any)[0].(map[string]any)
			c["expect"].(map[string]any)["plan"].(map[string]any)["actions"] = []any{map[string]any{"type": "log-in"}}
		}},
		{"profile not a string", "plan", "#/$defs/planFile", "$.cases[0]", func(m map[string]any) {
			m["cases"].([]any)[0].(map[string]any)["observation"].(map[string]any)["profile"] = 9
		}},
		{"negative attempts", "runner", "#/$defs/runnerFile", "$.cases[0]", func(m map[string]any) {
			s := m["cases"].([]any)[0].(map[string]any)["steps"].([]any)
			for _, st := range s {
				if e, ok := st.(map[string]any)["expect"].(map[string]any); ok {
					e["journal"].(map[string]any)["entry"].(map[string]any)["attempts"] = -1
				}
			}
		}},
		{"launch without expect", "runner", "#/$defs/runnerFile", "$.cases[0]", func(m map[string]any) {
			s := m["cases"].([]any)[0].(map[string]any)["steps"].([]any)
			for _, st := range s {
				delete(st.(map[string]any), "expect")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := plan
			if c.doc == "runner" {
				src = runner
			}
			var m map[string]any
			require.NoError(t, json.Unmarshal(src, &m))
			c.edit(m)
			data, err := json.Marshal(m)
			require.NoError(t, err)
			err = ValidateJSON(data, c.ref)
			var se *SchemaError
			require.True(t, errors.As(err, &se), "%v", err)
			require.True(t, strings.HasPrefix(se.Path, c.path), "path %s, want under %s", se.Path, c.path)
		})
	}
}

// The schema's enumerations are the Go packages' own lists.
func TestSchemaEnumsMatchTheCode(t *testing.T) {
	var s struct {
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(Schema, &s))
	strs := func(xs ...string) []string { return xs }
	var states, discs, errs []string
	for _, st := range fsm.States() {
		states = append(states, string(st))
	}
	for _, d := range reconcile.Discrepancies() {
		discs = append(discs, string(d))
	}
	for _, e := range reconcile.SDKErrors() {
		errs = append(errs, string(e))
	}
	require.Equal(t, states, s.Defs["state"].Enum)
	require.Equal(t, append(strs(states...), ""), s.Defs["stateOrNone"].Enum)
	require.Equal(t, discs, s.Defs["discrepancy"].Enum)
	require.Equal(t, errs, s.Defs["sdkError"].Enum)
}

// A transcript whose expected output does not parse back to itself is an
// error naming its file and line, not a vector.
func TestExportRefusesWhatItCannotRead(t *testing.T) {
	for name, body := range map[string]string{
		"result": "new profile=ios-1.8\n----\n\nlaunch\n----\ncalls:\njournal:\n  → last=- vital=- last-action=- error=- attempts=0\npasses:\n  1: plan (nothing) [consistent]\nresult: nothing-to-do state signed-out\n",
		"step":   "new profile=ios-1.8\n----\n\nsdk state=flying\n----\n",
		"prints": "new profile=ios-1.8\n----\n\napp user=alice\n----\nsomething\n",
		"first":  "app user=alice\n----\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.txt"), []byte(body), 0o644))
			_, err := exportRunner(dir)
			require.Error(t, err)
			require.Contains(t, err.Error(), "bad.txt:")
		})
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.txt"),
		[]byte("plan profile=ios-1.8 app=signed-out status=-\n----\nobserved: signed-out\nclass: consistent\nplan: sign-out\njson: {\"actions\":[],\"retry_at\":null}\n"), 0o644))
	_, err := exportPlans(dir)
	require.ErrorContains(t, err, "bad.txt:1")
}

// Every profile the vectors name is one of profiles.json's (the schema
// leaves profile names open, so that a new profile needs no schema edit).
func TestVectorsNameKnownProfiles(t *testing.T) {
	v := freshExport(t)
	known := map[string]bool{}
	for _, p := range v.Profiles.Profiles {
		known[p.Name] = true
	}
	for _, c := range v.Plan.Cases {
		var o struct {
			Profile string `json:"profile"`
		}
		if c.Observation != nil {
			require.NoError(t, json.Unmarshal(c.Observation, &o))
			require.True(t, known[o.Profile], "%s: profile %q", c.Name, o.Profile)
		}
	}
	for _, c := range v.Runner.Cases {
		require.True(t, known[c.Setup.Profile], "%s: profile %q", c.Name, c.Setup.Profile)
	}
	for _, vc := range v.Profiles.Versions {
		require.True(t, vc.Profile == "" || known[vc.Profile], "%+v", vc)
	}
}
