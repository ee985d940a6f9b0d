package fsm

import (
	"fmt"
	"sort"
	"strings"
)

// Format is a diagram format.
type Format string

// Diagram formats.
const (
	Mermaid  Format = "mermaid"
	Graphviz Format = "dot"
)

// ParseFormat parses a diagram format name.
func ParseFormat(s string) (Format, bool) {
	switch Format(s) {
	case Mermaid, Graphviz:
		return Format(s), true
	}
	return "", false
}

type edge struct {
	src, dst State
	label    string
}

// edges lists the table's transitions for profile p (nil: all profiles,
// with profile-restricted rows labelled by their note), sorted.
func edges(p *Profile) []edge {
	var out []edge
	for _, t := range table {
		if p != nil && !t.Applies(*p) {
			continue
		}
		label := string(t.Event)
		if p == nil && t.Note != "" {
			label += " (" + t.Note + ")"
		}
		for _, s := range t.Src {
			if s == t.Dst && t.Event == EventSignOut {
				continue // the signed-out self-loop is "already there", not drawn
			}
			out = append(out, edge{s, t.Dst, label})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.src != b.src {
			return stateIndex(a.src) < stateIndex(b.src)
		}
		if a.dst != b.dst {
			return stateIndex(a.dst) < stateIndex(b.dst)
		}
		return a.label < b.label
	})
	return out
}

func stateIndex(s State) int {
	for i, st := range allStates {
		if st == s {
			return i
		}
	}
	return len(allStates)
}

// mermaidID turns a state name into a Mermaid identifier (no hyphens).
func mermaidID(s State) string { return strings.ReplaceAll(string(s), "-", "_") }

// Diagram renders the transition table in format f, for profile p or, when
// p is nil, for every profile. Output is deterministic.
func Diagram(f Format, p *Profile) (string, error) {
	var b strings.Builder
	es := edges(p)
	switch f {
	case Mermaid:
		b.WriteString("stateDiagram-v2\n")
		fmt.Fprintf(&b, "    [*] --> %s\n", mermaidID(SignedOut))
		for _, s := range allStates {
			fmt.Fprintf(&b, "    state \"%s\" as %s\n", s, mermaidID(s))
		}
		for _, e := range es {
			fmt.Fprintf(&b, "    %s --> %s: %s\n", mermaidID(e.src), mermaidID(e.dst), e.label)
		}
	case Graphviz:
		name := "vitalsdk"
		if p != nil {
			name = p.Name
		}
		fmt.Fprintf(&b, "digraph %q {\n    rankdir=LR;\n", name)
		for _, s := range allStates {
			fmt.Fprintf(&b, "    %q;\n", string(s))
		}
		for _, e := range es {
			fmt.Fprintf(&b, "    %q -> %q [label=%q];\n", string(e.src), string(e.dst), e.label)
		}
		b.WriteString("}\n")
	default:
		return "", fmt.Errorf("fsm: unknown diagram format %q", string(f))
	}
	return b.String(), nil
}
