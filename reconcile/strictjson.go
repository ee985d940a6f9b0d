package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
)

// checkJSONKeys makes the checks on a JSON document that encoding/json does
// not: every object key at a path listed in schema is one of its keys,
// spelled exactly (encoding/json matches names case-insensitively), and no
// object has a key twice (encoding/json keeps the last). Paths are dotted
// ("app.signed_in"), array elements "[i]"; "" is the top level. Errors are
// *FieldError naming the key. Syntax errors are left to the decoder that
// runs next. ParseObservation runs it before decoding (the issuer's
// DecodeReport makes the same checks on a report's top-level keys).
func checkJSONKeys(data []byte, schema map[string][]string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := walkValue(dec, "", schema)
	if errors.Is(err, errSyntax) {
		return nil
	}
	return err
}

// errSyntax stops the walk on malformed input.
var errSyntax = errors.New("syntax")

func walkValue(dec *json.Decoder, path string, schema map[string][]string) error {
	tok, err := dec.Token()
	if err != nil {
		return errSyntax
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, path, schema)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, path+"["+strconv.Itoa(i)+"]", schema); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errSyntax
		}
	}
	return nil
}

func walkObject(dec *json.Decoder, path string, schema map[string][]string) error {
	known, checked := schema[path]
	var seen []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errSyntax
		}
		key, ok := tok.(string)
		if !ok {
			return errSyntax
		}
		field := key
		if path != "" {
			field = path + "." + key
		}
		if slices.Contains(seen, key) {
			return fieldErr(field, "duplicate key")
		}
		seen = append(seen, key)
		if checked && !slices.Contains(known, key) {
			for _, k := range known {
				if strings.EqualFold(k, key) {
					return fieldErr(field, "unknown field (names are case-sensitive: %q)", k)
				}
			}
			return fieldErr(field, "unknown field")
		}
		if err := walkValue(dec, field, schema); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return errSyntax
	}
	return nil
}
