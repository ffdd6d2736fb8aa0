package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ValidationError reports an invalid flag set. Flag is the offending flag
// key ("" for set-level problems), Segment the offending segment key (for
// problems inside segments) and Field the wire field at fault, relative to
// the flag or segment (e.g. "rules[2].clauses[1]"); messages about rules
// name the rule id.
type ValidationError struct {
	Flag    string
	Segment string
	Field   string
	Msg     string
}

func (e *ValidationError) Error() string {
	if e.Segment != "" {
		return fmt.Sprintf("segment %q: %s: %s", e.Segment, e.Field, e.Msg)
	}
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
	expOff      int      // index of the variant served to experiment non-entrants
	static      int      // index of the variant weighted 10000, or -1
	assignments map[string]int
	rollout     murmur3 // hash state after salt + ":"

	experiment bool
	expKey     string
	expTraffic int
	expHash    murmur3 // hash state after salt + "." + key + ":"
	audience   []clause
	layer      bool
	layerStart int
	layerEnd   int
	layerHash  murmur3 // hash state after "layer." + layer key + ":"

	prereqs   []prereq
	rules     []compiledRule
	targeting bool // rules or prerequisites: a 100% default rollout is DEFAULT, not STATIC
	memo      bool // some clauses have memo slots: evaluation keeps a memo
}

// prereq is a resolved Prerequisite: ok[i] says whether variant i of the
// prerequisite flag satisfies it.
type prereq struct {
	key  string
	flag *compiledFlag
	ok   []bool
}

// compiledRule is a Rule with clauses compiled and its rollout cumulated.
type compiledRule struct {
	id       string
	clauses  []clause
	variant  int   // served variant, or -1 for a rollout
	cum      []int // cumulative rollout weights
	static   int   // rollout variant weighted 10000, or -1
	bucketBy string
	byKey    bool // bucket by the targeting key
}

// Compile validates fs and returns an immutable Snapshot ready for
// allocation-free evaluation. The snapshot does not retain fs: later
// changes to fs do not affect it.
func Compile(fs *FlagSet) (*Snapshot, error) {
	return CompileFrom(nil, fs)
}

// CompileFrom is Compile for a new revision of the set prev holds: the
// flags and segments whose definitions did not change since prev (see
// FlagsEqual) are taken from prev instead of being compiled again, so a
// one-flag change to a large set costs about one flag's compile. The
// result evaluates exactly as Compile(fs) would; prev (nil: none) is not
// modified and stays usable.
func CompileFrom(prev *Snapshot, fs *FlagSet) (*Snapshot, error) {
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
	var old *Snapshot
	if prev != nil && len(prev.flags) > 0 {
		old = prev
	}
	var oldSegments map[string]*compiledSegment
	if prev != nil {
		oldSegments = prev.segments
	}
	segments, err := compileSegments(fs.Segments, oldSegments)
	if err != nil {
		return nil, fmt.Errorf("eval: compile: %w", err)
	}
	s.segments = segments
	for i := range fs.Flags {
		f := &fs.Flags[i]
		if f.Key == "" {
			return nil, fmt.Errorf("eval: compile: %w", invalid("", fmt.Sprintf("flags[%d].key", i), "empty flag key"))
		}
		if _, dup := s.flags[f.Key]; dup {
			return nil, fmt.Errorf("eval: compile: %w", invalid(f.Key, "key", "duplicate flag key"))
		}
		if old != nil {
			if cf := old.flags[f.Key]; cf != nil && FlagsEqual(&cf.def, f) && cf.usesOnly(segments) {
				s.flags[f.Key] = cf.relinkable()
				s.keys = append(s.keys, f.Key)
				continue
			}
		}
		cf, err := compileFlag(f, segments)
		if err != nil {
			return nil, fmt.Errorf("eval: compile: %w", err)
		}
		s.flags[f.Key] = cf
		s.keys = append(s.keys, f.Key)
	}
	sort.Strings(s.keys)
	if err := resolvePrerequisites(s); err != nil {
		return nil, fmt.Errorf("eval: compile: %w", err)
	}
	return s, nil
}

// usesOnly reports whether every segment cf's clauses test is the one in
// segments (a reused compiled segment), so cf can be reused beside them.
func (cf *compiledFlag) usesOnly(segments map[string]*compiledSegment) bool {
	check := func(cs []clause) bool {
		for i := range cs {
			for _, sg := range cs[i].segs {
				if segments[sg.key] != sg {
					return false
				}
			}
		}
		return true
	}
	if !check(cf.audience) {
		return false
	}
	for i := range cf.rules {
		if !check(cf.rules[i].clauses) {
			return false
		}
	}
	return true
}

// relinkable returns cf for reuse in a new snapshot: cf itself when it has
// no prerequisites, else a shallow copy with unresolved prerequisites
// (resolvePrerequisites links them to the new snapshot's flags; cf keeps
// pointing into the snapshot it came from).
func (cf *compiledFlag) relinkable() *compiledFlag {
	if len(cf.prereqs) == 0 {
		return cf
	}
	cp := *cf
	cp.prereqs = make([]prereq, len(cf.prereqs))
	for i, p := range cf.prereqs {
		cp.prereqs[i] = prereq{key: p.key}
	}
	return &cp
}

// resolvePrerequisites links every prerequisite to its flag and refuses
// unknown flags, unknown variants and cycles.
func resolvePrerequisites(s *Snapshot) error {
	for _, key := range s.keys {
		cf := s.flags[key]
		for i := range cf.prereqs {
			p := &cf.prereqs[i]
			field := fmt.Sprintf("prerequisites[%d]", i)
			pf, ok := s.flags[p.key]
			if !ok {
				return invalid(key, field+".flag", "unknown flag %q", p.key)
			}
			p.flag = pf
			p.ok = make([]bool, len(pf.variantKeys))
			for j, v := range cf.def.Prerequisites[i].Variants {
				idx := -1
				for k, vk := range pf.variantKeys {
					if vk == v {
						idx = k
					}
				}
				if idx < 0 {
					return invalid(key, fmt.Sprintf("%s.variants[%d]", field, j), "flag %q has no variant %q", p.key, v)
				}
				p.ok[idx] = true
			}
		}
	}
	// Depth-first search for a cycle: 1 = on the current path, 2 = done.
	state := make(map[*compiledFlag]uint8, len(s.flags))
	var visit func(cf *compiledFlag, path []string) error
	visit = func(cf *compiledFlag, path []string) error {
		switch state[cf] {
		case 1:
			return invalid(path[0], "prerequisites", "cycle %s", strings.Join(append(path, cf.def.Key), " -> "))
		case 2:
			return nil
		}
		state[cf] = 1
		for _, p := range cf.prereqs {
			if err := visit(p.flag, append(path, cf.def.Key)); err != nil {
				return err
			}
		}
		state[cf] = 2
		return nil
	}
	for _, key := range s.keys {
		if err := visit(s.flags[key], nil); err != nil {
			return err
		}
	}
	return nil
}

// compileRollout validates a rollout (one entry per variant, in variant
// order, weights summing to 10000) and returns its cumulative weights and
// the index of a 100% variant (-1 if none).
func compileRollout(key, field string, rollout []WeightedVariant, variants []Variant, index map[string]int) ([]int, int, error) {
	if len(rollout) != len(variants) {
		return nil, 0, invalid(key, field, "has %d entries, want one per variant (%d)", len(rollout), len(variants))
	}
	cum := make([]int, len(rollout))
	static := -1
	sum := 0
	for i, w := range rollout {
		if _, ok := index[w.Variant]; !ok {
			return nil, 0, invalid(key, fmt.Sprintf("%s[%d].variant", field, i), "unknown variant %q", w.Variant)
		}
		if w.Variant != variants[i].Key {
			return nil, 0, invalid(key, fmt.Sprintf("%s[%d].variant", field, i), "variant %q out of order, want %q", w.Variant, variants[i].Key)
		}
		if w.Weight < 0 || w.Weight > Buckets {
			return nil, 0, invalid(key, fmt.Sprintf("%s[%d].weight", field, i), "weight %d outside 0..%d", w.Weight, Buckets)
		}
		sum += w.Weight
		cum[i] = sum
		if w.Weight == Buckets {
			static = i
		}
	}
	if sum != Buckets {
		return nil, 0, invalid(key, field, "weights sum to %d, want %d", sum, Buckets)
	}
	return cum, static, nil
}

func compileFlag(src *Flag, segments map[string]*compiledSegment) (*compiledFlag, error) {
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
	cum, static, err := compileRollout(key, "rollout", f.Rollout, f.Variants, index)
	if err != nil {
		return nil, err
	}
	cf.cum, cf.static = cum, static
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
		audience, field, err := compileClauses(e.Audience, segments, "experiment.audience", true)
		if err != nil {
			return nil, invalid(key, field, "%v", err)
		}
		cf.audience = audience
		cf.expOff = cf.off
		if e.Fallback != "" {
			fb, ok := index[e.Fallback]
			if !ok {
				return nil, invalid(key, "experiment.fallback", "unknown variant %q", e.Fallback)
			}
			cf.expOff = fb
		}
		if l := e.Layer; l != nil {
			if l.Key == "" {
				return nil, invalid(key, "experiment.layer.key", "empty layer key")
			}
			if l.Start < 0 || l.End > Buckets || l.Start >= l.End {
				return nil, invalid(key, "experiment.layer", "range [%d, %d) is not within 0..%d and non-empty", l.Start, l.End, Buckets)
			}
			cf.layer, cf.layerStart, cf.layerEnd = true, l.Start, l.End
			cf.layerHash = prefixHasher("layer." + l.Key)
		}
	}

	// Prerequisites (resolved once every flag is compiled).
	for i, p := range f.Prerequisites {
		field := fmt.Sprintf("prerequisites[%d]", i)
		if p.Flag == "" {
			return nil, invalid(key, field+".flag", "empty flag key")
		}
		if p.Flag == key {
			return nil, invalid(key, field+".flag", "a flag cannot be its own prerequisite")
		}
		if len(p.Variants) == 0 {
			return nil, invalid(key, field+".variants", "no variants")
		}
		cf.prereqs = append(cf.prereqs, prereq{key: p.Flag})
	}

	// Rules.
	if len(f.Rules) > MaxRules {
		return nil, invalid(key, "rules", "%d rules, at most %d allowed", len(f.Rules), MaxRules)
	}
	ids := make(map[string]bool, len(f.Rules))
	for i, r := range f.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if err := checkRuleID(r.ID, ids); err != nil {
			return nil, invalid(key, field+".id", "%v", err)
		}
		clauses, cfield, err := compileClauses(r.Clauses, segments, field+".clauses", false)
		if err != nil {
			return nil, invalid(key, cfield, "rule %q: %v", r.ID, err)
		}
		cr := compiledRule{id: r.ID, clauses: clauses, variant: -1, static: -1}
		switch {
		case r.Variant != "" && r.Rollout != nil:
			return nil, invalid(key, field, "rule %q: serves a variant and a rollout, want one", r.ID)
		case r.Variant != "":
			i, ok := index[r.Variant]
			if !ok {
				return nil, invalid(key, field+".variant", "rule %q: unknown variant %q", r.ID, r.Variant)
			}
			if r.BucketBy != "" {
				return nil, invalid(key, field+".bucketBy", "rule %q: bucketBy needs a rollout", r.ID)
			}
			cr.variant = i
		case r.Rollout != nil:
			cum, static, err := compileRollout(key, field+".rollout", r.Rollout, f.Variants, index)
			if err != nil {
				var ve *ValidationError
				if errors.As(err, &ve) {
					ve.Msg = fmt.Sprintf("rule %q: %s", r.ID, ve.Msg)
				}
				return nil, err
			}
			cr.cum, cr.static = cum, static
			if r.BucketBy != "" {
				if err := checkAttribute(r.BucketBy); err != nil {
					return nil, invalid(key, field+".bucketBy", "rule %q: %v", r.ID, err)
				}
			}
			cr.bucketBy = r.BucketBy
			cr.byKey = r.BucketBy == "" || r.BucketBy == TargetingKeyAttribute
		default:
			return nil, invalid(key, field, "rule %q: serves nothing (set variant or rollout)", r.ID)
		}
		cf.rules = append(cf.rules, cr)
	}
	cf.targeting = len(cf.rules) > 0 || len(cf.prereqs) > 0
	groups := [][]clause{cf.audience}
	for i := range cf.rules {
		groups = append(groups, cf.rules[i].clauses)
	}
	cf.memo = assignSlots(groups...)
	return cf, nil
}

// decodeValue checks that raw is a JSON value of the given kind and decodes
// it once.
func decodeValue(kind Kind, raw json.RawMessage) (Value, error) {
	raw = trimJSONSpace(raw)
	if len(raw) == 0 {
		return Value{}, errors.New("missing value")
	}
	if kind == KindJSON {
		if !json.Valid(raw) {
			return Value{}, errors.New("invalid JSON")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return Value{}, fmt.Errorf("invalid JSON: %w", err)
		}
		return Value{Kind: kind, Raw: json.RawMessage(compact.Bytes())}, nil
	}
	// A scalar has no space to compact away: raw is its compact form.
	got, s, b, err := scanScalar(raw)
	if err != nil {
		return Value{}, errors.New("invalid JSON")
	}
	v := Value{Kind: kind, Raw: json.RawMessage(raw)}
	switch kind {
	case KindBoolean:
		if got != 'b' {
			return Value{}, fmt.Errorf("%s is not a boolean", raw)
		}
		v.Bool = b
	case KindString:
		if got != 's' {
			return Value{}, fmt.Errorf("%s is not a string", raw)
		}
		v.String = s
	case KindNumber:
		if got != 'n' {
			return Value{}, fmt.Errorf("%s is not a number", raw)
		}
		n := string(raw)
		fl, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return Value{}, fmt.Errorf("number %s: %w", n, err)
		}
		v.Float = fl
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			v.Int, v.IsInt = i, true
		} else if fl == math.Trunc(fl) && fl >= -(1<<63) && fl < 1<<63 {
			v.Int, v.IsInt = int64(fl), true
		}
	}
	return v, nil
}
