package provider_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// schemaSet is a set of JSON Schema documents addressed as
// "#/components/schemas/<name>", as in an OpenAPI file.
type schemaSet map[string]any

func loadSchemas(t *testing.T, path string) schemaSet {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Schemas map[string]any `json:"schemas"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	return doc.Schemas
}

// clone deep-copies the set so that amendments do not leak.
func (s schemaSet) clone() schemaSet {
	raw, _ := json.Marshal(s)
	var out schemaSet
	_ = json.Unmarshal(raw, &out)
	return out
}

// validate checks a JSON document against the named schema and returns
// the violations (empty when valid). It implements the keywords OFREP's
// schemas use: type, required, properties, additionalProperties, items,
// enum, minimum, allOf, anyOf, oneOf and $ref.
func (s schemaSet) validate(name string, doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	return s.check(map[string]any{"$ref": "#/components/schemas/" + name}, v, "$")
}

func (s schemaSet) check(schema any, v any, at string) []string {
	sch, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": schema is not an object"}
	}
	var errs []string
	if ref, ok := sch["$ref"].(string); ok {
		target, found := s[strings.TrimPrefix(ref, "#/components/schemas/")]
		if !found {
			return []string{at + ": unknown $ref " + ref}
		}
		errs = append(errs, s.check(target, v, at)...)
	}
	if typ, ok := sch["type"].(string); ok && !hasType(v, typ) {
		errs = append(errs, fmt.Sprintf("%s: want %s, got %s", at, typ, typeOf(v)))
	}
	if enum, ok := sch["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
		}
	}
	if min, ok := sch["minimum"].(float64); ok {
		if n, isNum := v.(json.Number); isNum {
			if f, _ := n.Float64(); f < min {
				errs = append(errs, fmt.Sprintf("%s: %v is below the minimum %v", at, v, min))
			}
		}
	}
	if obj, isObj := v.(map[string]any); isObj {
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if _, present := obj[r.(string)]; !present {
					errs = append(errs, fmt.Sprintf("%s: %q is required", at, r))
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				errs = append(errs, s.check(ps, obj[k], at+"."+k)...)
			} else if ap, ok := sch["additionalProperties"].(map[string]any); ok {
				errs = append(errs, s.check(ap, obj[k], at+"."+k)...)
			} else if ap, ok := sch["additionalProperties"].(bool); ok && !ap {
				errs = append(errs, fmt.Sprintf("%s: unexpected property %q", at, k))
			}
		}
	}
	if arr, isArr := v.([]any); isArr {
		if items, ok := sch["items"]; ok {
			for i, e := range arr {
				errs = append(errs, s.check(items, e, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	if all, ok := sch["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, s.check(sub, v, at)...)
		}
	}
	if anyOf, ok := sch["anyOf"].([]any); ok {
		if s.matching(anyOf, v, at) == 0 {
			errs = append(errs, at+": matches none of anyOf")
		}
	}
	if oneOf, ok := sch["oneOf"].([]any); ok {
		if n := s.matching(oneOf, v, at); n != 1 {
			errs = append(errs, fmt.Sprintf("%s: matches %d of oneOf, want exactly 1", at, n))
		}
	}
	return errs
}

func (s schemaSet) matching(subs []any, v any, at string) int {
	n := 0
	for _, sub := range subs {
		if len(s.check(sub, v, at)) == 0 {
			n++
		}
	}
	return n
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	case "null":
		return v == nil
	}
	return false
}

func typeOf(v any) string {
	for _, t := range []string{"object", "array", "string", "boolean", "integer", "number", "null"} {
		if hasType(v, t) {
			return t
		}
	}
	return fmt.Sprintf("%T", v)
}

func TestSchemaValidatorCatchesViolations(t *testing.T) {
	t.Parallel()
	s := schemaSet{
		"thing": map[string]any{"type": "object", "required": []any{"a"}, "properties": map[string]any{
			"a": map[string]any{"type": "integer"},
			"b": map[string]any{"enum": []any{"x", "y"}},
			"c": map[string]any{"oneOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "integer"}}},
		}},
	}
	require.Empty(t, s.validate("thing", []byte(`{"a":1,"b":"x","c":0.5}`)))
	require.Empty(t, s.validate("thing", []byte(`{"a":1.0}`)), "1.0 is an integer in JSON Schema")
	require.NotEmpty(t, s.validate("thing", []byte(`{"b":"x"}`)), "missing required")
	require.NotEmpty(t, s.validate("thing", []byte(`{"a":1.5}`)), "not an integer")
	require.NotEmpty(t, s.validate("thing", []byte(`{"a":1,"b":"z"}`)), "outside the enum")
	require.NotEmpty(t, s.validate("thing", []byte(`{"a":1,"c":2}`)), "2 matches both arms of oneOf")
	require.NotEmpty(t, s.validate("thing", []byte(`[1]`)), "not an object")
}
