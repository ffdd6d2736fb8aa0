package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of the targeting wire format (docs/evaluation.md).
const (
	MaxAttributeLen    = 256    // bytes of an attribute name
	MaxRuleIDLen       = 64     // bytes of a rule id
	MaxRules           = 200    // rules per flag or segment
	MaxClauses         = 32     // clauses per rule or audience
	MaxClauseValues    = 10000  // values per clause (use a segment beyond)
	MaxSegmentKeys     = 200000 // ids in a segment's included or excluded list
	maxSafeInteger     = 1<<53 - 1
	smallStringSetSize = 8 // "in" lists up to this size are scanned, larger ones hashed
)

// Operators of a clause. "equals" is "in" with exactly one value.
const (
	OpIn         = "in"
	OpEquals     = "equals"
	OpContains   = "contains"
	OpStartsWith = "starts_with"
	OpEndsWith   = "ends_with"
	OpMatches    = "matches"
	OpLT         = "lt"
	OpLTE        = "lte"
	OpGT         = "gt"
	OpGTE        = "gte"
	OpSemverEQ   = "semver_eq"
	OpSemverLT   = "semver_lt"
	OpSemverLTE  = "semver_lte"
	OpSemverGT   = "semver_gt"
	OpSemverGTE  = "semver_gte"
	OpBefore     = "before"
	OpAfter      = "after"
	OpInSegment  = "in_segment"
	OpExists     = "exists"
)

type opCode uint8

const (
	opIn opCode = iota + 1
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opLT
	opLTE
	opGT
	opGTE
	opSemverEQ
	opSemverLT
	opSemverLTE
	opSemverGT
	opSemverGTE
	opBefore
	opAfter
	opInSegment
	opExists
)

var opCodes = map[string]opCode{
	OpIn: opIn, OpEquals: opIn, OpContains: opContains, OpStartsWith: opStartsWith, OpEndsWith: opEndsWith,
	OpMatches: opMatches, OpLT: opLT, OpLTE: opLTE, OpGT: opGT, OpGTE: opGTE,
	OpSemverEQ: opSemverEQ, OpSemverLT: opSemverLT, OpSemverLTE: opSemverLTE, OpSemverGT: opSemverGT, OpSemverGTE: opSemverGTE,
	OpBefore: opBefore, OpAfter: opAfter, OpInSegment: opInSegment, OpExists: opExists,
}

// Operators lists every clause operator, for editors and validators.
var Operators = []string{
	OpIn, OpEquals, OpContains, OpStartsWith, OpEndsWith, OpMatches, OpLT, OpLTE, OpGT, OpGTE,
	OpSemverEQ, OpSemverLT, OpSemverLTE, OpSemverGT, OpSemverGTE, OpBefore, OpAfter, OpInSegment, OpExists,
}

// clause is a compiled Clause: values decoded, regexes compiled, versions
// parsed and string sets hashed once.
type clause struct {
	attr     string
	isKey    bool // the attribute is the targeting key
	op       opCode
	negate   bool
	slot     int8                // memo slot of the attribute within its flag, or -1
	strSet   map[string]struct{} // "in" strings, large lists
	packed   []uint64            // "in" strings of up to 7 bytes (small lists), see packShort
	long     []string            // "in" strings of 8 bytes or more (small lists)
	strs     []string            // contains / starts_with / ends_with
	nums     []float64           // "in" numbers, lt..gte, before / after (Unix seconds)
	hasTrue  bool                // "in" true
	hasFalse bool                // "in" false
	res      []*regexp.Regexp
	vers     []semver
	segs     []*compiledSegment
}

// compiledSegment is a Segment with its id lists as hash sets.
type compiledSegment struct {
	key      string
	def      Segment // deep copy of the wire definition, to reuse it (sameSegment)
	included map[string]struct{}
	excluded map[string]struct{}
	rules    [][]clause
}

// contains reports whether ctx belongs to the segment: excluded beats
// included beats rules.
func (s *compiledSegment) contains(ctx *Context) bool {
	if k := ctx.TargetingKey; k != "" {
		if _, ok := s.excluded[k]; ok {
			return false
		}
		if _, ok := s.included[k]; ok {
			return true
		}
	}
	for _, r := range s.rules {
		if matchAll(r, ctx, nil) {
			return true
		}
	}
	return false
}

// memoSlots is how many distinct attributes one evaluation of a flag
// remembers; rules of a flag often test the same attributes, and each
// lookup in the context's map costs a hash.
const memoSlots = 8

// memo holds the attribute values one evaluation has looked up, by the
// clauses' slots. It lives on the evaluating goroutine's stack.
type memo struct {
	have uint8 // bit i: v[i] was looked up (nil: absent)
	v    [memoSlots]any
}

// value looks the clause's attribute up, through the memo when the
// clause has a slot. ok is false when the attribute is absent or null.
func (c *clause) value(ctx *Context, m *memo) (any, bool) {
	if m == nil || c.slot < 0 {
		return ctx.lookup(c.attr)
	}
	bit := uint8(1) << c.slot
	if m.have&bit != 0 {
		v := m.v[c.slot]
		return v, v != nil
	}
	v, ok := ctx.lookup(c.attr)
	m.have |= bit
	m.v[c.slot] = v
	return v, ok
}

// matchAll reports whether every clause matches; m (may be nil) is the
// evaluation's memo.
func matchAll(cs []clause, ctx *Context, m *memo) bool {
	for i := range cs {
		if !cs[i].match(ctx, m) {
			return false
		}
	}
	return true
}

// match evaluates the clause. A missing attribute (absent, nil, or an
// empty targeting key) never matches, negated or not; only exists and
// in_segment are defined without one.
func (c *clause) match(ctx *Context, m *memo) bool {
	switch c.op {
	case opInSegment:
		for _, s := range c.segs {
			if s.contains(ctx) {
				return !c.negate
			}
		}
		return c.negate
	case opExists:
		var present bool
		if c.isKey {
			present = ctx.TargetingKey != ""
		} else {
			_, present = c.value(ctx, m)
		}
		return present != c.negate
	}
	if c.isKey {
		if ctx.TargetingKey == "" {
			return false
		}
		return c.matchString(ctx.TargetingKey) != c.negate
	}
	v, ok := c.value(ctx, m)
	if !ok {
		return false
	}
	return c.matchValue(v) != c.negate
}

// matchValue tests a present attribute value; a list matches when any
// element does.
func (c *clause) matchValue(v any) bool {
	switch x := v.(type) {
	case string:
		return c.matchString(x)
	case []string:
		for _, e := range x {
			if c.matchString(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if e != nil && c.matchScalar(e) {
				return true
			}
		}
		return false
	case *Attr:
		if x.Kind == AttrList {
			for i := range x.List {
				if c.matchAttrScalar(&x.List[i]) {
					return true
				}
			}
			return false
		}
		return c.matchAttrScalar(x)
	}
	return c.matchScalar(v)
}

// matchAttrScalar is matchScalar for a decoded attribute: a list or an
// object inside a list never matches, as in matchScalar.
func (c *clause) matchAttrScalar(a *Attr) bool {
	switch a.Kind {
	case AttrString:
		return c.matchString(a.Str)
	case AttrNumber:
		return c.matchNumber(a.Num)
	case AttrBool:
		return c.op == opIn && ((a.Bool && c.hasTrue) || (!a.Bool && c.hasFalse))
	}
	return false
}

func (c *clause) matchScalar(v any) bool {
	switch x := v.(type) {
	case string:
		return c.matchString(x)
	case bool:
		return c.op == opIn && ((x && c.hasTrue) || (!x && c.hasFalse))
	case time.Time:
		if c.op == opBefore || c.op == opAfter {
			d, _ := attrDate(x)
			return c.matchDate(d)
		}
		return false
	}
	f, ok := attrNumber(v)
	if !ok {
		return false
	}
	return c.matchNumber(f)
}

func (c *clause) matchString(s string) bool {
	switch c.op {
	case opIn:
		if c.strSet != nil {
			_, ok := c.strSet[s]
			return ok
		}
		if len(s) <= maxPacked {
			if len(c.packed) != 0 {
				k := packShort(s)
				for _, x := range c.packed {
					if x == k {
						return true
					}
				}
			}
			return false
		}
		for _, x := range c.long {
			if x == s {
				return true
			}
		}
	case opContains:
		for _, x := range c.strs {
			if strings.Contains(s, x) {
				return true
			}
		}
	case opStartsWith:
		for _, x := range c.strs {
			if strings.HasPrefix(s, x) {
				return true
			}
		}
	case opEndsWith:
		for _, x := range c.strs {
			if strings.HasSuffix(s, x) {
				return true
			}
		}
	case opMatches:
		for _, re := range c.res {
			if re.MatchString(s) {
				return true
			}
		}
	case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
		v, ok := parseSemver(s)
		if !ok {
			return false
		}
		for _, w := range c.vers {
			if cmpHolds(c.op, compareSemver(v, w)) {
				return true
			}
		}
	case opBefore, opAfter:
		if d, ok := parseRFC3339(s); ok {
			return c.matchDate(d)
		}
	}
	return false
}

func (c *clause) matchNumber(f float64) bool {
	switch c.op {
	case opIn:
		for _, x := range c.nums {
			if x == f {
				return true
			}
		}
	case opLT, opLTE, opGT, opGTE:
		for _, x := range c.nums {
			if cmpHolds(c.op, cmpFloat(f, x)) {
				return true
			}
		}
	case opBefore, opAfter:
		return c.matchDate(f)
	}
	return false
}

func (c *clause) matchDate(d float64) bool {
	for _, x := range c.nums {
		if (c.op == opBefore && d < x) || (c.op == opAfter && d > x) {
			return true
		}
	}
	return false
}

// cmpFloat compares; NaN compares as "unordered" (2) so no operator holds.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

func cmpHolds(op opCode, c int) bool {
	switch op {
	case opLT, opSemverLT:
		return c == -1
	case opLTE, opSemverLTE:
		return c == -1 || c == 0
	case opGT, opSemverGT:
		return c == 1
	case opGTE, opSemverGTE:
		return c == 1 || c == 0
	case opSemverEQ:
		return c == 0
	}
	return false
}

// checkAttribute validates an attribute name.
func checkAttribute(name string) error {
	if name == "" {
		return fmt.Errorf("empty attribute name")
	}
	if len(name) > MaxAttributeLen {
		return fmt.Errorf("attribute name is %d bytes long, at most %d allowed", len(name), MaxAttributeLen)
	}
	return nil
}

// scalar is one decoded clause value.
type scalar struct {
	kind byte // 's' string, 'n' number, 'b' boolean
	s    string
	n    float64
	b    bool
}

func decodeScalar(raw json.RawMessage) (scalar, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return scalar{}, fmt.Errorf("missing value")
	}
	kind, s, b, err := scanScalar(raw)
	switch {
	case err != nil:
		return scalar{}, fmt.Errorf("invalid JSON %s", raw)
	case kind == 's':
		return scalar{kind: 's', s: s}, nil
	case kind == 'b':
		return scalar{kind: 'b', b: b}, nil
	case kind == 'n':
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) {
			return scalar{}, fmt.Errorf("number %s out of range", raw)
		}
		return scalar{kind: 'n', n: f}, nil
	}
	return scalar{}, fmt.Errorf("%s is not a string, number or boolean", raw)
}

// compileClause validates and compiles one clause. segments resolves
// in_segment keys; nil forbids in_segment (segment rules).
func compileClause(src Clause, segments map[string]*compiledSegment) (clause, error) {
	op, ok := opCodes[src.Op]
	if !ok {
		return clause{}, fmt.Errorf("unknown operator %q", src.Op)
	}
	c := clause{attr: src.Attribute, isKey: src.Attribute == TargetingKeyAttribute, op: op, negate: src.Negate, slot: -1}
	if op == opInSegment {
		if src.Attribute != "" {
			return clause{}, fmt.Errorf("in_segment takes no attribute")
		}
	} else if err := checkAttribute(src.Attribute); err != nil {
		return clause{}, err
	}
	n := len(src.Values)
	switch {
	case op == opExists:
		if n != 0 {
			return clause{}, fmt.Errorf("exists takes no values")
		}
		return c, nil
	case n == 0:
		return clause{}, fmt.Errorf("no values")
	case n > MaxClauseValues:
		return clause{}, fmt.Errorf("%d values, at most %d allowed (use a segment)", n, MaxClauseValues)
	case src.Op == OpEquals && n != 1:
		return clause{}, fmt.Errorf("equals takes exactly one value, got %d", n)
	}
	if op == opInSegment && segments == nil {
		return clause{}, fmt.Errorf("segment rules cannot use in_segment")
	}
	var strs []string
	for i, raw := range src.Values {
		v, err := decodeScalar(raw)
		if err != nil {
			return clause{}, fmt.Errorf("values[%d]: %v", i, err)
		}
		bad := func(want string) error {
			return fmt.Errorf("values[%d]: %s needs %s, got %s", i, src.Op, want, bytes.TrimSpace(raw))
		}
		switch op {
		case opIn:
			switch v.kind {
			case 's':
				strs = append(strs, v.s)
			case 'n':
				c.nums = append(c.nums, v.n)
			case 'b':
				c.hasTrue = c.hasTrue || v.b
				c.hasFalse = c.hasFalse || !v.b
			}
		case opContains, opStartsWith, opEndsWith:
			if v.kind != 's' {
				return clause{}, bad("a string")
			}
			c.strs = append(c.strs, v.s)
		case opMatches:
			if v.kind != 's' {
				return clause{}, bad("a string")
			}
			re, err := compileRegex(v.s)
			if err != nil {
				return clause{}, fmt.Errorf("values[%d]: %v", i, err)
			}
			c.res = append(c.res, re)
		case opLT, opLTE, opGT, opGTE:
			if v.kind != 'n' {
				return clause{}, bad("a number")
			}
			c.nums = append(c.nums, v.n)
		case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
			if v.kind != 's' {
				return clause{}, bad("a version string")
			}
			sv, ok := parseSemver(v.s)
			if !ok {
				return clause{}, fmt.Errorf("values[%d]: %q is not a semantic version", i, v.s)
			}
			c.vers = append(c.vers, sv)
		case opBefore, opAfter:
			var d float64
			switch v.kind {
			case 'n':
				d = v.n
			case 's':
				var ok bool
				if d, ok = parseRFC3339(v.s); !ok {
					return clause{}, fmt.Errorf("values[%d]: %q is not an RFC 3339 date-time", i, v.s)
				}
			default:
				return clause{}, bad("an RFC 3339 date-time or Unix seconds")
			}
			c.nums = append(c.nums, d)
		case opInSegment:
			if v.kind != 's' {
				return clause{}, bad("a segment key")
			}
			seg, ok := segments[v.s]
			if !ok {
				return clause{}, fmt.Errorf("values[%d]: unknown segment %q", i, v.s)
			}
			c.segs = append(c.segs, seg)
		}
	}
	if op == opIn {
		if len(strs) > smallStringSetSize {
			c.strSet = make(map[string]struct{}, len(strs))
			for _, s := range strs {
				c.strSet[s] = struct{}{}
			}
		} else {
			for _, s := range strs {
				if len(s) <= maxPacked {
					c.packed = append(c.packed, packShort(s))
				} else {
					c.long = append(c.long, s)
				}
			}
		}
	}
	return c, nil
}

// maxPacked is the longest string packShort packs.
const maxPacked = 7

// packShort packs a string of at most maxPacked bytes and its length into
// one word, so that a small "in" list compares words instead of calling
// the runtime's memory comparison for every candidate.
func packShort(s string) uint64 {
	x := uint64(len(s)) << 56
	for i := 0; i < len(s); i++ {
		x |= uint64(s[i]) << (8 * i)
	}
	return x
}

// assignSlots gives the attributes that two or more of a flag's clauses
// test (rules and audience) a memo slot each, up to memoSlots; it reports
// whether any was given.
func assignSlots(groups ...[]clause) bool {
	uses := map[string]int{}
	for _, cs := range groups {
		for i := range cs {
			if c := &cs[i]; !c.isKey && c.op != opInSegment {
				uses[c.attr]++
			}
		}
	}
	slots := map[string]int8{}
	for _, cs := range groups {
		for i := range cs {
			c := &cs[i]
			if c.isKey || c.op == opInSegment || uses[c.attr] < 2 {
				continue
			}
			s, ok := slots[c.attr]
			if !ok {
				if len(slots) == memoSlots {
					continue
				}
				s = int8(len(slots))
				slots[c.attr] = s
			}
			c.slot = s
		}
	}
	return len(slots) > 0
}

// compileClauses compiles a rule's clauses; field names the rule for errors.
func compileClauses(src []Clause, segments map[string]*compiledSegment, field string, allowEmpty bool) ([]clause, string, error) {
	if len(src) == 0 && !allowEmpty {
		return nil, field, fmt.Errorf("no clauses")
	}
	if len(src) > MaxClauses {
		return nil, field, fmt.Errorf("%d clauses, at most %d allowed", len(src), MaxClauses)
	}
	out := make([]clause, len(src))
	for j, cs := range src {
		c, err := compileClause(cs, segments)
		if err != nil {
			return nil, fmt.Sprintf("%s[%d]", field, j), err
		}
		out[j] = c
	}
	return out, "", nil
}

// compileSegments compiles a flag set's segments.
// Segments equal to one of prev (may be nil) are taken from prev.
func compileSegments(src []Segment, prev map[string]*compiledSegment) (map[string]*compiledSegment, error) {
	out := make(map[string]*compiledSegment, len(src))
	for i, sg := range src {
		field := fmt.Sprintf("segments[%d]", i)
		if sg.Key == "" {
			return nil, &ValidationError{Field: field + ".key", Msg: "empty segment key"}
		}
		bad := func(f, format string, args ...any) error {
			return &ValidationError{Segment: sg.Key, Field: f, Msg: fmt.Sprintf(format, args...)}
		}
		if _, dup := out[sg.Key]; dup {
			return nil, bad("key", "duplicate segment key")
		}
		if old := prev[sg.Key]; old != nil && sameSegment(&old.def, &src[i]) {
			out[sg.Key] = old
			continue
		}
		cs := &compiledSegment{key: sg.Key, def: Segment{Key: sg.Key, Version: sg.Version,
			Included: slices.Clone(sg.Included), Excluded: slices.Clone(sg.Excluded), Rules: cloneRules(sg.Rules)}}
		var err error
		if cs.included, err = idSet(sg.Included); err != nil {
			return nil, bad("included", "%v", err)
		}
		if cs.excluded, err = idSet(sg.Excluded); err != nil {
			return nil, bad("excluded", "%v", err)
		}
		if len(sg.Rules) > MaxRules {
			return nil, bad("rules", "%d rules, at most %d allowed", len(sg.Rules), MaxRules)
		}
		ids := make(map[string]bool, len(sg.Rules))
		for j, r := range sg.Rules {
			rf := fmt.Sprintf("rules[%d]", j)
			if err := checkRuleID(r.ID, ids); err != nil {
				return nil, bad(rf+".id", "%v", err)
			}
			if r.Variant != "" || r.Rollout != nil || r.BucketBy != "" {
				return nil, bad(rf, "rule %q: a segment rule serves nothing (no variant, rollout or bucketBy)", r.ID)
			}
			clauses, f, err := compileClauses(r.Clauses, nil, rf+".clauses", false)
			if err != nil {
				return nil, bad(f, "rule %q: %v", r.ID, err)
			}
			cs.rules = append(cs.rules, clauses)
		}
		out[sg.Key] = cs
	}
	return out, nil
}

func idSet(ids []string) (map[string]struct{}, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxSegmentKeys {
		return nil, fmt.Errorf("%d ids, at most %d allowed", len(ids), MaxSegmentKeys)
	}
	set := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("empty id")
		}
		set[id] = struct{}{}
	}
	return set, nil
}

func checkRuleID(id string, seen map[string]bool) error {
	if id == "" {
		return fmt.Errorf("empty rule id")
	}
	if len(id) > MaxRuleIDLen {
		return fmt.Errorf("rule id is %d bytes long, at most %d allowed", len(id), MaxRuleIDLen)
	}
	if seen[id] {
		return fmt.Errorf("duplicate rule id %q", id)
	}
	seen[id] = true
	return nil
}
