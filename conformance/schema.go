package conformance

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Schema is the vectors' JSON Schema (vectors.schema.json, draft
// 2020-12).
//
//go:embed vectors.schema.json
var Schema []byte

var schemaDoc = sync.OnceValues(func() (map[string]any, error) {
	var s map[string]any
	if err := json.Unmarshal(Schema, &s); err != nil {
		return nil, fmt.Errorf("conformance: vectors.schema.json: %w", err)
	}
	return s, nil
})

// SchemaError is a document that does not match the schema, at a JSON
// path ("$.cases[3].expect").
type SchemaError struct {
	Path string
	Msg  string
}

func (e *SchemaError) Error() string { return e.Path + ": " + e.Msg }

// ValidateJSON checks data against the definition ref of the vectors'
// schema ("#" for the whole schema, "#/$defs/planFile" for one file). It
// implements the keywords the schema uses and refuses any other: type,
// properties, required, additionalProperties (false), items, enum, const,
// minimum, minItems, oneOf, $ref and $defs.
func ValidateJSON(data []byte, ref string) error {
	root, err := schemaDoc()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return &SchemaError{Path: "$", Msg: "not JSON: " + err.Error()}
	}
	v := validator{root: root}
	s, err := v.resolve(ref)
	if err != nil {
		return err
	}
	return v.check(s, doc, "$")
}

type validator struct{ root map[string]any }

func (v validator) resolve(ref string) (map[string]any, error) {
	if ref == "#" {
		return v.root, nil
	}
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("conformance: schema: unsupported $ref %q", ref)
	}
	var cur any = v.root
	for _, part := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("conformance: schema: $ref %q does not resolve", ref)
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("conformance: schema: $ref %q does not resolve", ref)
	}
	return m, nil
}

var knownKeywords = map[string]bool{"$schema": true, "$id": true, "$defs": true, "$ref": true, "$comment": true,
	"title": true, "description": true, "type": true, "properties": true, "required": true,
	"additionalProperties": true, "items": true, "enum": true, "const": true, "minimum": true, "minItems": true,
	"oneOf": true}

func (v validator) check(s map[string]any, doc any, path string) error {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownKeywords[k] {
			return fmt.Errorf("conformance: schema: keyword %q is not implemented by the validator", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		t, err := v.resolve(ref)
		if err != nil {
			return err
		}
		if err := v.check(t, doc, path); err != nil {
			return err
		}
	}
	if t, ok := s["type"]; ok {
		if err := checkType(t, doc, path); err != nil {
			return err
		}
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, doc) {
		return &SchemaError{Path: path, Msg: fmt.Sprintf("must be %v", c)}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(x, doc)
		}
		if !found {
			return &SchemaError{Path: path, Msg: fmt.Sprintf("%v is not one of %v", doc, e)}
		}
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isNum := doc.(json.Number); isNum {
			f, _ := n.Float64()
			if f < m {
				return &SchemaError{Path: path, Msg: fmt.Sprintf("%v is below %v", f, m)}
			}
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		matched := 0
		var first error
		for _, alt := range one {
			am, _ := alt.(map[string]any)
			if err := v.check(am, doc, path); err == nil {
				matched++
			} else if first == nil {
				first = err
			}
		}
		if matched != 1 {
			msg := fmt.Sprintf("matches %d of the oneOf alternatives, not one", matched)
			if first != nil && matched == 0 {
				msg += " (the first fails: " + first.Error() + ")"
			}
			return &SchemaError{Path: path, Msg: msg}
		}
	}
	switch d := doc.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := d[r.(string)]; !ok {
					return &SchemaError{Path: path, Msg: fmt.Sprintf("required property %q is missing", r)}
				}
			}
		}
		names := make([]string, 0, len(d))
		for k := range d {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, set := s["additionalProperties"].(bool); set && !ap {
					return &SchemaError{Path: path, Msg: fmt.Sprintf("property %q is not allowed", k)}
				}
				continue
			}
			if err := v.check(ps, d[k], path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if m, ok := s["minItems"].(float64); ok && float64(len(d)) < m {
			return &SchemaError{Path: path, Msg: fmt.Sprintf("has %d items, fewer than %v", len(d), m)}
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, x := range d {
				if err := v.check(it, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkType(t any, doc any, path string) error {
	var types []string
	switch t := t.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	for _, want := range types {
		if typeOf(doc) == want || (want == "number" && typeOf(doc) == "integer") {
			return nil
		}
	}
	return &SchemaError{Path: path, Msg: fmt.Sprintf("is %s, want %s", typeOf(doc), strings.Join(types, " or "))}
}

func typeOf(doc any) string {
	switch d := doc.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if f, err := d.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(d.String(), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func jsonEqual(a, b any) bool {
	if n, ok := b.(json.Number); ok {
		f, _ := n.Float64()
		af, isF := a.(float64)
		return isF && af == f
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}
