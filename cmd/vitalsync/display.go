package main

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// display returns s as it may appear in a table or narration for people:
// unchanged when every character is printable, otherwise quoted and escaped
// like a Go string ("a\nb", "\x1b[2J"), so that an ID holding a line break,
// a tab or a terminal escape cannot forge lines, columns or colours. A
// string that itself starts with a double quote is quoted too, so a quoted
// value is never ambiguous. Every table printer of this command passes
// values that come from outside (IDs, errors, journal entries) through it.
func display(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strconv.Quote(s)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return strconv.Quote(s) // invalid UTF-8
			}
		}
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// writeJSONIndent writes v as indented JSON.
func writeJSONIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
