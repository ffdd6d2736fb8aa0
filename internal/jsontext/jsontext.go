// Package jsontext refuses JSON request bodies whose text PostgreSQL (and
// any careful reader) cannot take: invalid UTF-8, which encoding/json would
// silently replace with U+FFFD, and NUL characters ("\u0000"), which
// PostgreSQL text columns refuse. Check names the JSON path of the first
// offending value (events[3].userId), so a client learns which field to fix.
package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
)

// Check returns nil when body is valid UTF-8 and no JSON string in it (key
// or value) holds a NUL character; else a KindBadRequest *errs.Error with
// code "invalid_text" whose Field is the path of the offending value.
// Malformed JSON is left to the decoder that follows (Check returns nil).
func Check(body []byte) error {
	valid := utf8.Valid(body)
	if valid && !bytes.Contains(body, []byte(`\u0000`)) {
		return nil // fast path: nothing to look for
	}
	bad := -1
	if !valid {
		bad = firstInvalid(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			if bad >= 0 {
				return invalid(pathOf(stack), "is not valid UTF-8")
			}
			return nil
		}
		end := dec.InputOffset()
		inToken := bad >= 0 && int64(bad) >= prev && int64(bad) < end
		prev = end
		// An object key.
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				stack = valueDone(stack)
				continue
			}
			key, _ := tok.(string)
			stack[n-1].key, stack[n-1].wantKey = key, false
			if inToken {
				return invalid(pathOf(stack), "name is not valid UTF-8")
			}
			if strings.ContainsRune(key, 0) {
				return invalid(pathOf(stack), "name contains a NUL character")
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = valueDone(stack[:len(stack)-1])
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].array {
			stack[n-1].index++
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, frame{array: v == '[', index: -1, wantKey: v == '{'})
			continue
		case string:
			if inToken {
				return invalid(pathOf(stack), "is not valid UTF-8")
			}
			if strings.ContainsRune(v, 0) {
				return invalid(pathOf(stack), "contains a NUL character")
			}
		}
		stack = valueDone(stack)
	}
}

type frame struct {
	array   bool
	index   int
	key     string
	wantKey bool
}

// valueDone marks the value at the top of stack as read: an object then
// expects its next key.
func valueDone(stack []frame) []frame {
	if n := len(stack); n > 0 && !stack[n-1].array {
		stack[n-1].wantKey = true
	}
	return stack
}

func pathOf(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			if f.index >= 0 {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
			continue
		}
		if f.key == "" && f.wantKey {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	return b.String()
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func invalid(field, what string) error {
	msg := "text " + what
	if field != "" {
		msg = field + " " + what
	}
	return &errs.Error{Kind: errs.KindBadRequest, Code: "invalid_text", Field: field, Message: msg}
}
