package eval

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// Context is an OpenFeature evaluation context: the targeting key (the
// user id; may be empty) and flat attributes. Attribute values may be
// string, bool, any Go integer or float type, json.Number, time.Time
// (dates), []string or []any of those scalars; nil means absent. Other
// types never match. The attribute name "targetingKey" refers to
// TargetingKey. Evaluation does not modify or retain the context.
//
// Attrs is the same attributes in decoded form, for callers that decode
// contexts themselves and want no value boxed in an interface (the
// provider's OFREP endpoint): it is consulted only when Attributes is nil,
// and must be sorted by Name (byte order) with unique names.
type Context struct {
	TargetingKey string
	Attributes   map[string]any
	Attrs        []Attr
}

// AttrKind is the JSON type of an Attr.
type AttrKind uint8

// Attribute kinds. AttrNull is an absent attribute, like a nil value in
// Attributes; AttrOther (a JSON object, or a list inside a list) is
// present but matches no value, like a map[string]any in Attributes.
const (
	AttrNull AttrKind = iota
	AttrString
	AttrNumber
	AttrBool
	AttrList
	AttrOther
)

// Attr is one decoded context attribute: Name and, by Kind, Str, Num,
// Bool or List (the elements of a JSON array; their names are ignored).
// An Attr behaves exactly as the equivalent Attributes value: a string,
// a float64, a bool or an []any of those.
type Attr struct {
	Name string
	Kind AttrKind
	Str  string
	Num  float64
	Bool bool
	List []Attr
}

// lookup returns the attribute called name; ok is false when it is absent
// or null. A value found in Attrs is returned as its *Attr.
func (ctx *Context) lookup(name string) (any, bool) {
	if ctx.Attributes != nil {
		v := ctx.Attributes[name]
		return v, v != nil
	}
	attrs := ctx.Attrs
	if len(attrs) <= 8 {
		for i := range attrs {
			if attrs[i].Name == name {
				return attrPtr(&attrs[i])
			}
		}
		return nil, false
	}
	lo, hi := 0, len(attrs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if attrs[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(attrs) && attrs[lo].Name == name {
		return attrPtr(&attrs[lo])
	}
	return nil, false
}

func attrPtr(a *Attr) (any, bool) {
	if a.Kind == AttrNull {
		return nil, false
	}
	return a, true
}

// TargetingKeyAttribute is the attribute name under which clauses and
// rollouts refer to the context's targeting key.
const TargetingKeyAttribute = "targetingKey"

// attrNumber converts a scalar attribute value to float64.
func attrNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

// attrDate converts a scalar attribute value to Unix seconds: a number is
// Unix seconds, a string must be RFC 3339, a time.Time is itself.
func attrDate(v any) (float64, bool) {
	switch x := v.(type) {
	case string:
		return parseRFC3339(x)
	case time.Time:
		return float64(x.Unix()) + float64(x.Nanosecond())/1e9, true
	}
	return attrNumber(v)
}

// AttrsFrom converts attributes as encoding/json decodes them (string,
// float64, bool, nil, []any, map[string]any) into sorted Attrs that
// evaluate exactly as Attributes would. Other value types become
// AttrOther.
func AttrsFrom(attrs map[string]any) []Attr {
	if attrs == nil {
		return nil
	}
	out := make([]Attr, 0, len(attrs))
	for name, v := range attrs {
		a := attrOf(v, true)
		a.Name = name
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func attrOf(v any, top bool) Attr {
	switch x := v.(type) {
	case nil:
		return Attr{Kind: AttrNull}
	case string:
		return Attr{Kind: AttrString, Str: x}
	case float64:
		return Attr{Kind: AttrNumber, Num: x}
	case bool:
		return Attr{Kind: AttrBool, Bool: x}
	case []any:
		if !top {
			return Attr{Kind: AttrOther}
		}
		list := make([]Attr, len(x))
		for i, e := range x {
			list[i] = attrOf(e, false)
		}
		return Attr{Kind: AttrList, List: list}
	}
	return Attr{Kind: AttrOther}
}
