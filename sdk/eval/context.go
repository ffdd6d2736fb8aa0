package eval

import (
	"encoding/json"
	"strconv"
	"time"
)

// Context is an OpenFeature evaluation context: the targeting key (the
// user id; may be empty) and flat attributes. Attribute values may be
// string, bool, any Go integer or float type, json.Number, time.Time
// (dates), []string or []any of those scalars; nil means absent. Other
// types never match. The attribute name "targetingKey" refers to
// TargetingKey. Evaluation does not modify or retain the context.
type Context struct {
	TargetingKey string
	Attributes   map[string]any
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
