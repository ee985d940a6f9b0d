package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// directive is one case of a datadriven file: its command line, its input
// and its expected output, with the comment block above it.
type directive struct {
	file    string // the file's base name
	line    int    // the directive's line, from 1
	cmd     string
	args    []arg
	input   string
	expect  string
	comment string
}

// arg is one key[=value] of a directive; a (v1,v2) list is kept as
// "v1,v2".
type arg struct {
	key, val string
	hasVal   bool
}

func (d directive) pos() string { return fmt.Sprintf("%s:%d", d.file, d.line) }

// get returns the value of key and whether it is present.
func (d directive) get(key string) (string, bool) {
	for _, a := range d.args {
		if a.key == key {
			return a.val, true
		}
	}
	return "", false
}

func (d directive) has(key string) bool {
	_, ok := d.get(key)
	return ok
}

// readDir reads every .txt file of dir, in name order.
func readDir(dir string) ([]directive, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("conformance: no datadriven files in %s", dir)
	}
	sort.Strings(names)
	var out []directive
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ds, err := parseDataFile(filepath.Base(n), data)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// parseDataFile reads the datadriven format the reconcile tests use: '#'
// comments and blank lines between cases; a directive line; input lines up
// to "----"; the expected output up to a blank line or the end.
func parseDataFile(name string, data []byte) ([]directive, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []directive
	var comment []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "#"):
			if i > 0 && strings.TrimSpace(lines[i-1]) == "" {
				comment = comment[:0]
			}
			comment = append(comment, strings.TrimSpace(strings.TrimPrefix(t, "#")))
			continue
		}
		d := directive{file: name, line: i + 1, comment: strings.Join(comment, " ")}
		comment = comment[:0]
		var err error
		if d.cmd, d.args, err = parseDirective(t); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		i++
		var in []string
		for ; i < len(lines) && lines[i] != "----"; i++ {
			in = append(in, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: no ---- after the directive", name, d.line)
		}
		d.input = strings.Join(in, "\n")
		var exp []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			exp = append(exp, lines[i])
		}
		if len(exp) > 0 {
			d.expect = strings.Join(exp, "\n") + "\n"
		}
		out = append(out, d)
	}
	return out, nil
}

// parseDirective splits "cmd k1=v1 k2=(a,b) flag" into the command and its
// arguments.
func parseDirective(s string) (string, []arg, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "", nil, fmt.Errorf("empty directive")
	}
	var args []arg
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if k == "" {
			return "", nil, fmt.Errorf("argument %q has no key", f)
		}
		if strings.HasPrefix(v, "(") {
			if !strings.HasSuffix(v, ")") {
				return "", nil, fmt.Errorf("argument %q: unbalanced parenthesis", f)
			}
			v = strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
		}
		args = append(args, arg{key: k, val: v, hasVal: ok})
	}
	return fields[0], args, nil
}
