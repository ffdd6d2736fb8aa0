package eval

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
)

func clauseOf(attr, op string, values ...string) Clause {
	c := Clause{Attribute: attr, Op: op}
	for _, v := range values {
		c.Values = append(c.Values, json.RawMessage(v))
	}
	return c
}

// rulesSnapshot has "rules": 5 rules x 3 clauses (string in, semver,
// number), and "segment": one rule on a segment of 100,000 ids.
func rulesSnapshot(tb testing.TB) *Snapshot {
	tb.Helper()
	f := boolTestFlag("rules", "3f9a1c0d2b7e4a11", 5000)
	for i := 1; i <= 5; i++ {
		f.Rules = append(f.Rules, Rule{
			ID:      fmt.Sprintf("rule-%d", i),
			Variant: "on",
			Clauses: []Clause{
				clauseOf("country", OpIn, `"CA"`, `"US"`, `"MX"`, fmt.Sprintf(`"C%d"`, i)),
				clauseOf("appVersion", OpSemverGTE, fmt.Sprintf(`"%d.2.0"`, 16+i)),
				clauseOf("age", OpGTE, strconv.Itoa(10*i)),
			},
		})
	}
	seg, members := memberSegment(100000)
	s, err := Compile(&FlagSet{Flags: []Flag{f, seg}, Segments: []Segment{members}})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// memberSegment is the segment "members" of n targeting keys, member-0 to
// member-(n-1), and the flag "segment" that serves "on" to its members.
func memberSegment(n int) (Flag, Segment) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "member-" + strconv.Itoa(i)
	}
	f := boolTestFlag("segment", "5e6f7a8b9c0d1e2f", 0)
	f.Rules = []Rule{{ID: "members", Variant: "on", Clauses: []Clause{clauseOf("", OpInSegment, `"members"`)}}}
	return f, Segment{Key: "members", Included: ids}
}

// membershipCases compiles memberSegment(n) and returns 1,024 contexts:
// even ones members spread over the whole segment, odd ones outsiders.
// Compile refuses lists over MaxSegmentKeys ids, so a larger n compiles
// that many and adds the rest to the compiled segment's set in place.
func membershipCases(tb testing.TB, n int) (*Snapshot, []Context) {
	tb.Helper()
	f, seg := memberSegment(min(n, MaxSegmentKeys))
	s, err := Compile(&FlagSet{Flags: []Flag{f}, Segments: []Segment{seg}})
	if err != nil {
		tb.Fatal(err)
	}
	set := s.segments["members"].included
	for i := len(set); i < n; i++ {
		set["member-"+strconv.Itoa(i)] = struct{}{}
	}
	ctxs := make([]Context, 1024)
	for i := range ctxs {
		ctxs[i].TargetingKey = "outsider-" + strconv.Itoa(i)
		if i%2 == 0 {
			ctxs[i].TargetingKey = "member-" + strconv.Itoa(i*(n/len(ctxs)+1)%n)
		}
	}
	for i, want := range []string{"members", ""} {
		if r := s.EvaluateContext("segment", &ctxs[i]); r.RuleID != want {
			tb.Fatalf("%s: rule %q, want %q", ctxs[i].TargetingKey, r.RuleID, want)
		}
	}
	if last := (Context{TargetingKey: "member-" + strconv.Itoa(n-1)}); s.EvaluateContext("segment", &last).RuleID != "members" {
		tb.Fatalf("%s is not a member", last.TargetingKey)
	}
	return s, ctxs
}

// BenchmarkSegmentMembership: in_segment is one hash set lookup, so its
// cost does not grow with the segment (docs/evaluation.md, Segments).
func BenchmarkSegmentMembership(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, ctxs := membershipCases(b, n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sink = s.EvaluateContext("segment", &ctxs[i&1023])
			}
		})
	}
}

// TestSegmentMembershipDoesNotAllocate: members and outsiders of a
// segment of 1,000,000 ids are told apart without allocating.
func TestSegmentMembershipDoesNotAllocate(t *testing.T) {
	s, ctxs := membershipCases(t, 1_000_000)
	i := 0
	if n := testing.AllocsPerRun(1000, func() { sink = s.EvaluateContext("segment", &ctxs[i&1023]); i++ }); n != 0 {
		t.Errorf("%v allocs per in_segment evaluation", n)
	}
	if r := s.EvaluateContext("segment", &ctxs[1022]); r.Variant != "on" {
		t.Errorf("member %s: %+v", ctxs[1022].TargetingKey, r)
	}
}

// benchContexts: the last rule matches (country C5, version 21.2.0, age
// 50), so every evaluation runs all 15 clauses up to the matching one.
func benchContexts() []Context {
	out := make([]Context, 1024)
	for i := range out {
		out[i] = Context{
			TargetingKey: "member-" + strconv.Itoa(i*97),
			Attributes: map[string]any{
				"country": "C5", "appVersion": "21.2.0", "age": float64(50 + i%10), "plan": "pro", "email": "x@y.z",
			},
		}
	}
	return out
}

func BenchmarkEvaluateRules5x3(b *testing.B) {
	s, ctxs := rulesSnapshot(b), benchContexts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.EvaluateContext("rules", &ctxs[i&1023])
	}
}

func BenchmarkEvaluateRulesNoMatch(b *testing.B) {
	s, ctxs := rulesSnapshot(b), benchContexts()
	for i := range ctxs {
		ctxs[i].Attributes = map[string]any{"country": "FR", "appVersion": "21.2.0", "age": float64(50)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.EvaluateContext("rules", &ctxs[i&1023])
	}
}

func BenchmarkEvaluateSegment100k(b *testing.B) {
	s, ctxs := rulesSnapshot(b), benchContexts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.EvaluateContext("segment", &ctxs[i&1023])
	}
}

// BenchmarkEvaluateRuleless is the rule-less flag through EvaluateContext
// with attributes present (they must cost nothing).
func BenchmarkEvaluateRuleless(b *testing.B) {
	s, ctxs := benchSnapshot(b), benchContexts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.EvaluateContext("target", &ctxs[i&1023])
	}
}

func BenchmarkCompileSegment100k(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rulesSnapshot(b)
	}
}

// TestTargetingDoesNotAllocate pins zero allocations for rules, segments,
// semver, regex, dates, prerequisites, audiences and layers.
func TestTargetingDoesNotAllocate(t *testing.T) {
	s, ctxs := rulesSnapshot(t), benchContexts()
	var fs FlagSet
	raw := []byte(`{"segments":[{"key":"beta","included":["u1"],"rules":[{"id":"s","clauses":[{"attribute":"email","op":"matches","values":["@corp\\.com$"]}]}]}],
	"flags":[
	 {"key":"parent","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":true,"offVariant":"off","rollout":[{"variant":"off","weight":0},{"variant":"on","weight":10000}],"salt":"p"},
	 {"key":"child","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":true,"offVariant":"off","rollout":[{"variant":"off","weight":5000},{"variant":"on","weight":5000}],"salt":"c",
	  "prerequisites":[{"flag":"parent","variants":["on"]}],
	  "rules":[{"id":"d","clauses":[{"attribute":"signup","op":"after","values":["2024-01-01T00:00:00Z"]},{"attribute":"tags","op":"contains","values":["x"]}],"variant":"on"},
	           {"id":"b","clauses":[{"op":"in_segment","values":["beta"]}],"rollout":[{"variant":"off","weight":5000},{"variant":"on","weight":5000}],"bucketBy":"companyId"}],
	  "experiment":{"key":"e","traffic":5000,"audience":[{"attribute":"country","op":"in","values":["C5"]}],"layer":{"key":"l","start":0,"end":5000}}}]}`)
	if err := json.Unmarshal(raw, &fs); err != nil {
		t.Fatal(err)
	}
	c, err := Compile(&fs)
	if err != nil {
		t.Fatal(err)
	}
	dated := Context{TargetingKey: "u2", Attributes: map[string]any{"signup": "2025-03-01T10:00:00.5+02:00", "tags": []any{"a", "xy"}}}
	seg := Context{TargetingKey: "u3", Attributes: map[string]any{"email": "a@corp.com", "companyId": float64(1234)}}
	for name, fn := range map[string]func(int){
		"rules":       func(i int) { sink = s.EvaluateContext("rules", &ctxs[i&1023]) },
		"segment":     func(i int) { sink = s.EvaluateContext("segment", &ctxs[i&1023]) },
		"experiment":  func(i int) { sink = c.EvaluateContext("child", &ctxs[i&1023]) },
		"dates-lists": func(int) { sink = c.EvaluateContext("child", &dated) },
		"regex-int":   func(int) { sink = c.EvaluateContext("child", &seg) },
		"typed":       func(i int) { _, sink = s.BoolContext("rules", &ctxs[i&1023], false) },
	} {
		i := 0
		if n := testing.AllocsPerRun(200, func() { fn(i); i++ }); n != 0 {
			t.Errorf("%s: %v allocs per evaluation", name, n)
		}
	}
	if r := c.EvaluateContext("child", &dated); r.RuleID != "d" || r.Variant != "on" {
		t.Fatalf("dated context: %+v", r)
	}
	if r := c.EvaluateContext("child", &seg); r.RuleID != "b" {
		t.Fatalf("segment rule: %+v", r)
	}
}
