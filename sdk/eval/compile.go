package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// ValidationError reports an invalid flag set. Flag is the offending flag
// key ("" for set-level problems) and Field the wire field at fault.
type ValidationError struct {
	Flag  string
	Field string
	Msg   string
}

func (e *ValidationError) Error() string {
	if e.Flag == "" && e.Field == "" {
		return e.Msg
	}
	if e.Flag == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("flag %q: %s: %s", e.Flag, e.Field, e.Msg)
}

func invalid(flag, field, format string, args ...any) error {
	return &ValidationError{Flag: flag, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// compiledFlag is a validated flag with everything evaluation needs
// precomputed. It is never modified after Compile.
type compiledFlag struct {
	def         Flag     // deep copy of the wire definition
	variantKeys []string // in variant order
	values      []Value  // decoded values, in variant order
	cum         []int    // cumulative rollout weights, in variant order
	off         int      // index of the off variant
	static      int      // index of the variant weighted 10000, or -1
	assignments map[string]int
	rollout     murmur3 // hash state after salt + ":"

	experiment bool
	expKey     string
	expTraffic int
	expHash    murmur3 // hash state after salt + "." + key + ":"
}

// Compile validates fs and returns an immutable Snapshot ready for
// allocation-free evaluation. The snapshot does not retain fs: later
// changes to fs do not affect it.
func Compile(fs *FlagSet) (*Snapshot, error) {
	if fs == nil {
		return nil, errors.New("eval: compile: nil flag set")
	}
	s := &Snapshot{
		project:     fs.Project,
		environment: fs.Environment,
		revision:    fs.Revision,
		flags:       make(map[string]*compiledFlag, len(fs.Flags)),
		keys:        make([]string, 0, len(fs.Flags)),
	}
	for i := range fs.Flags {
		f := &fs.Flags[i]
		if f.Key == "" {
			return nil, fmt.Errorf("eval: compile: %w", invalid("", fmt.Sprintf("flags[%d].key", i), "empty flag key"))
		}
		if _, dup := s.flags[f.Key]; dup {
			return nil, fmt.Errorf("eval: compile: %w", invalid(f.Key, "key", "duplicate flag key"))
		}
		cf, err := compileFlag(f)
		if err != nil {
			return nil, fmt.Errorf("eval: compile: %w", err)
		}
		s.flags[f.Key] = cf
		s.keys = append(s.keys, f.Key)
	}
	sort.Strings(s.keys)
	return s, nil
}

func compileFlag(src *Flag) (*compiledFlag, error) {
	f := src.clone()
	key := f.Key
	cf := &compiledFlag{def: f, static: -1}

	switch f.Kind {
	case KindBoolean, KindString, KindNumber, KindJSON:
	default:
		return nil, invalid(key, "kind", "unknown kind %q", string(f.Kind))
	}
	if f.Salt == "" {
		return nil, invalid(key, "salt", "empty salt")
	}

	// Variants: unique non-empty keys, values matching the kind.
	if len(f.Variants) == 0 {
		return nil, invalid(key, "variants", "no variants")
	}
	index := make(map[string]int, len(f.Variants))
	cf.variantKeys = make([]string, len(f.Variants))
	cf.values = make([]Value, len(f.Variants))
	for i, v := range f.Variants {
		if v.Key == "" {
			return nil, invalid(key, fmt.Sprintf("variants[%d].key", i), "empty variant key")
		}
		if _, dup := index[v.Key]; dup {
			return nil, invalid(key, fmt.Sprintf("variants[%d].key", i), "duplicate variant key %q", v.Key)
		}
		index[v.Key] = i
		val, err := decodeValue(f.Kind, v.Value)
		if err != nil {
			return nil, invalid(key, fmt.Sprintf("variants[%d].value", i), "variant %q: %v", v.Key, err)
		}
		cf.variantKeys[i] = v.Key
		cf.values[i] = val
	}
	if f.Kind == KindBoolean {
		on, okOn := index["on"]
		off, okOff := index["off"]
		if len(f.Variants) != 2 || !okOn || !okOff || !cf.values[on].Bool || cf.values[off].Bool {
			return nil, invalid(key, "variants", `a boolean flag must have exactly the variants "off" (false) and "on" (true)`)
		}
	}

	// Off variant.
	off, ok := index[f.OffVariant]
	if !ok {
		return nil, invalid(key, "offVariant", "unknown variant %q", f.OffVariant)
	}
	cf.off = off

	// Rollout: every variant, in variant order, weights summing to 10000.
	if len(f.Rollout) != len(f.Variants) {
		return nil, invalid(key, "rollout", "has %d entries, want one per variant (%d)", len(f.Rollout), len(f.Variants))
	}
	cf.cum = make([]int, len(f.Rollout))
	sum := 0
	for i, w := range f.Rollout {
		if _, ok := index[w.Variant]; !ok {
			return nil, invalid(key, fmt.Sprintf("rollout[%d].variant", i), "unknown variant %q", w.Variant)
		}
		if w.Variant != f.Variants[i].Key {
			return nil, invalid(key, fmt.Sprintf("rollout[%d].variant", i), "variant %q out of order, want %q", w.Variant, f.Variants[i].Key)
		}
		if w.Weight < 0 || w.Weight > Buckets {
			return nil, invalid(key, fmt.Sprintf("rollout[%d].weight", i), "weight %d outside 0..%d", w.Weight, Buckets)
		}
		sum += w.Weight
		cf.cum[i] = sum
		if w.Weight == Buckets {
			cf.static = i
		}
	}
	if sum != Buckets {
		return nil, invalid(key, "rollout", "weights sum to %d, want %d", sum, Buckets)
	}
	cf.rollout = prefixHasher(f.Salt)

	// Assignments.
	if len(f.Assignments) > 0 {
		cf.assignments = make(map[string]int, len(f.Assignments))
		for user, variant := range f.Assignments {
			if user == "" {
				return nil, invalid(key, "assignments", "empty user id")
			}
			i, ok := index[variant]
			if !ok {
				return nil, invalid(key, "assignments", "user %q: unknown variant %q", user, variant)
			}
			cf.assignments[user] = i
		}
	}

	// Experiment.
	if e := f.Experiment; e != nil {
		if e.Key == "" {
			return nil, invalid(key, "experiment.key", "empty experiment key")
		}
		if e.Traffic < 0 || e.Traffic > Buckets {
			return nil, invalid(key, "experiment.traffic", "traffic %d outside 0..%d", e.Traffic, Buckets)
		}
		cf.experiment = true
		cf.expKey = e.Key
		cf.expTraffic = e.Traffic
		cf.expHash = prefixHasher(f.Salt + "." + e.Key)
	}
	return cf, nil
}

// decodeValue checks that raw is a JSON value of the given kind and decodes
// it once.
func decodeValue(kind Kind, raw json.RawMessage) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Value{}, errors.New("missing value")
	}
	if !json.Valid(raw) {
		return Value{}, errors.New("invalid JSON")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return Value{}, fmt.Errorf("invalid JSON: %w", err)
	}
	v := Value{Kind: kind, Raw: json.RawMessage(compact.Bytes())}
	if kind == KindJSON {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return Value{}, fmt.Errorf("invalid JSON: %w", err)
	}
	switch kind {
	case KindBoolean:
		b, ok := x.(bool)
		if !ok {
			return Value{}, fmt.Errorf("%s is not a boolean", raw)
		}
		v.Bool = b
	case KindString:
		s, ok := x.(string)
		if !ok {
			return Value{}, fmt.Errorf("%s is not a string", raw)
		}
		v.String = s
	case KindNumber:
		n, ok := x.(json.Number)
		if !ok {
			return Value{}, fmt.Errorf("%s is not a number", raw)
		}
		fl, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return Value{}, fmt.Errorf("number %s: %w", n, err)
		}
		v.Float = fl
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			v.Int, v.IsInt = i, true
		} else if fl == math.Trunc(fl) && fl >= -(1<<63) && fl < 1<<63 {
			v.Int, v.IsInt = int64(fl), true
		}
	}
	return v, nil
}
