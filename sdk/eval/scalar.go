package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// errNotJSON: the bytes are not one JSON value.
var errNotJSON = errors.New("invalid JSON")

// scanScalar reads raw, which holds one JSON value and nothing else
// (callers trim surrounding space), without a json.Decoder: compiling a
// large flag set decodes every clause and variant value, and a decoder
// per value was most of the cost. kind is 's' (a string, decoded into s,
// as encoding/json decodes it), 'n' (a number: raw is its text), 'b' (a
// boolean, in b) or 0 (valid JSON, but null, an array or an object).
// err is errNotJSON when raw is not exactly one JSON value.
func scanScalar(raw []byte) (kind byte, s string, b bool, err error) {
	if len(raw) == 0 {
		return 0, "", false, errNotJSON
	}
	switch c := raw[0]; {
	case c == '"':
		return scanString(raw)
	case c == '-' || (c >= '0' && c <= '9'):
		if !isJSONNumber(raw) {
			return 0, "", false, errNotJSON
		}
		return 'n', "", false, nil
	case c == 't' && string(raw) == "true":
		return 'b', "", true, nil
	case c == 'f' && string(raw) == "false":
		return 'b', "", false, nil
	}
	// null, arrays and objects are rare here: encoding/json judges them.
	if json.Valid(raw) {
		return 0, "", false, nil
	}
	return 0, "", false, errNotJSON
}

// scanString decodes a JSON string that spans all of raw. Strings without
// escapes, control bytes or invalid UTF-8 (nearly all) are sliced out
// directly; the others go through encoding/json, which knows the escapes
// and replaces invalid UTF-8 with U+FFFD.
func scanString(raw []byte) (byte, string, bool, error) {
	body := raw[1:]
	end := -1
	plain := true
	for i, c := range body {
		if c == '"' {
			end = i
			break
		}
		if c == '\\' {
			plain = false
			break
		}
		if c < 0x20 {
			return 0, "", false, errNotJSON
		}
	}
	if plain {
		if end < 0 || end != len(body)-1 { // unterminated, or something after the quote
			return 0, "", false, errNotJSON
		}
		body = body[:end]
		if utf8.Valid(body) {
			return 's', string(body), false, nil
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, "", false, errNotJSON
	}
	return 's', s, false, nil
}

// isJSONNumber reports whether b is exactly one JSON number:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func isJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// trimJSONSpace is bytes.TrimSpace, returned with its capacity capped so
// an append by a holder of the result cannot write into the source.
func trimJSONSpace(raw []byte) []byte {
	t := bytes.TrimSpace(raw)
	return t[:len(t):len(t)]
}
