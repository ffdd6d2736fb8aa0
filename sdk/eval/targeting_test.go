package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSemverPrecedence(t *testing.T) {
	// semver.org §11, plus partial versions and build metadata.
	chain := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2", "2", "17.2.0-rc.1", "17.2", "17.10.0"}
	for i := range chain {
		for j := range chain {
			a, okA := parseSemver(chain[i])
			b, okB := parseSemver(chain[j])
			if !okA || !okB {
				t.Fatalf("parse %q / %q", chain[i], chain[j])
			}
			want := cmpInt(int64(i), int64(j))
			if got := compareSemver(a, b); got != want {
				t.Errorf("compare(%q, %q) = %d, want %d", chain[i], chain[j], got, want)
			}
		}
	}
	a, _ := parseSemver("1.0.0+build.1")
	b, _ := parseSemver("1.0.0")
	if compareSemver(a, b) != 0 {
		t.Error("build metadata must be ignored")
	}
	for _, bad := range []string{"", "v1.0.0", "01.0.0", "1.0.0.0", "1.0.0-", "1.0.0-01", "1.0.0+", "1..0", "1.0.0-a..b", "1234567890123456.0.0", " 1.0.0"} {
		if _, ok := parseSemver(bad); ok {
			t.Errorf("parseSemver(%q) accepted", bad)
		}
	}
}

func TestParseRFC3339(t *testing.T) {
	for s, want := range map[string]float64{
		"1970-01-01T00:00:00Z":           0,
		"2025-01-01T00:00:00.25Z":        1735689600.25,
		"2025-01-01T01:00:00+01:00":      1735689600,
		"2024-12-31t19:00:00-05:00":      1735689600,
		"2024-02-29T00:00:00Z":           1709164800,
		"1969-12-31T23:59:59Z":           -1,
		"2025-01-01T00:00:00.123456789Z": 1735689600 + 123456789/1e9,
	} {
		got, ok := parseRFC3339(s)
		if !ok || got != want {
			t.Errorf("parseRFC3339(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, bad := range []string{"2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "2024-01-01T00:00:00+0100"} {
		if _, ok := parseRFC3339(bad); ok {
			t.Errorf("parseRFC3339(%q) accepted", bad)
		}
	}
}

func TestPortableRegex(t *testing.T) {
	for _, ok := range []string{`^[a-z0-9.]+@(?:corp|staff)\.example\.com$`, `\d{4}`, `a{1,}`, `[\-a]`, `x\/y`, `(?:用户|ü).`} {
		if _, err := compileRegex(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{`(?i)abc`, `(?P<n>a)`, `\s`, `\pL`, `[[:alpha:]]`, `a{`, `}`, `[]a]`, `\-`, `\x41`, `\1`, `a{1001}`, `[\b]`, `(`, strings.Repeat("a", MaxRegexLen+1)} {
		if _, err := compileRegex(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func boolFlagJSON(key string, extra string) string {
	return `{"key":"` + key + `","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":true,"offVariant":"off","rollout":[{"variant":"off","weight":5000},{"variant":"on","weight":5000}],"salt":"s"` + extra + `}`
}

// TestTargetingValidation: invalid rules are refused with the flag, the
// field (rule and clause index) and the rule id named.
func TestTargetingValidation(t *testing.T) {
	tests := []struct {
		name, set, field, msg string
	}{
		{"unknown operator", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"vip","clauses":[{"attribute":"a","op":"in","values":["x"]},{"attribute":"a","op":"like","values":["x"]}],"variant":"on"}]`) + `]}`, "rules[0].clauses[1]", `rule "vip": unknown operator "like"`},
		{"wrong value type", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"age","op":"gt","values":["18"]}],"variant":"on"}]`) + `]}`, "rules[0].clauses[0]", `gt needs a number`},
		{"invalid regex", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"e","op":"matches","values":["(?i)x"]}],"variant":"on"}]`) + `]}`, "rules[0].clauses[0]", `only "(?:" groups are portable`},
		{"invalid semver", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"v","op":"semver_gt","values":["v1"]}],"variant":"on"}]`) + `]}`, "rules[0].clauses[0]", `is not a semantic version`},
		{"unknown variant", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"v","op":"exists"}],"variant":"maybe"}]`) + `]}`, "rules[0].variant", `unknown variant "maybe"`},
		{"unknown segment", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"op":"in_segment","values":["nope"]}],"variant":"on"}]`) + `]}`, "rules[0].clauses[0]", `unknown segment "nope"`},
		{"duplicate rule id", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"v","op":"exists"}],"variant":"on"},{"id":"r","clauses":[{"attribute":"v","op":"exists"}],"variant":"on"}]`) + `]}`, "rules[1].id", `duplicate rule id`},
		{"bad rule rollout", `{"flags":[` + boolFlagJSON("f", `,"rules":[{"id":"r","clauses":[{"attribute":"v","op":"exists"}],"rollout":[{"variant":"off","weight":1},{"variant":"on","weight":1}]}]`) + `]}`, "rules[0].rollout", `rule "r": weights sum to 2`},
		{"prerequisite cycle", `{"flags":[` + boolFlagJSON("a", `,"prerequisites":[{"flag":"b","variants":["on"]}]`) + `,` + boolFlagJSON("b", `,"prerequisites":[{"flag":"c","variants":["on"]}]`) + `,` + boolFlagJSON("c", `,"prerequisites":[{"flag":"a","variants":["on"]}]`) + `]}`, "prerequisites", `cycle a -> b -> c -> a`},
		{"unknown prerequisite", `{"flags":[` + boolFlagJSON("a", `,"prerequisites":[{"flag":"zz","variants":["on"]}]`) + `]}`, "prerequisites[0].flag", `unknown flag "zz"`},
		{"prerequisite variant", `{"flags":[` + boolFlagJSON("a", `,"prerequisites":[{"flag":"b","variants":["maybe"]}]`) + `,` + boolFlagJSON("b", "") + `]}`, "prerequisites[0].variants[0]", `has no variant "maybe"`},
		{"segment rule in_segment", `{"segments":[{"key":"s","rules":[{"id":"x","clauses":[{"op":"in_segment","values":["s"]}]}]}],"flags":[]}`, "rules[0].clauses[0]", `segment rules cannot use in_segment`},
		{"layer range", `{"flags":[` + boolFlagJSON("f", `,"experiment":{"key":"e","traffic":10,"layer":{"key":"l","start":5000,"end":5000}}`) + `]}`, "experiment.layer", `range [5000, 5000)`},
		{"unknown fallback", `{"flags":[` + boolFlagJSON("f", `,"experiment":{"key":"e","traffic":10,"fallback":"maybe"}`) + `]}`, "experiment.fallback", `unknown variant "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs FlagSet
			if err := json.Unmarshal([]byte(tt.set), &fs); err != nil {
				t.Fatal(err)
			}
			_, err := Compile(&fs)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Msg, tt.msg) {
				t.Fatalf("got field %q msg %q; want field %q msg containing %q", ve.Field, ve.Msg, tt.field, tt.msg)
			}
		})
	}
}

// TestLayerMutualExclusion: experiments of one layer never share a user,
// and together they cover the layer's range.
func TestLayerMutualExclusion(t *testing.T) {
	var flags []Flag
	for i, r := range [][2]int{{0, 2500}, {2500, 5000}, {5000, 10000}} {
		f := boolTestFlag(fmt.Sprintf("exp-%d", i), fmt.Sprintf("salt-%d", i), 5000)
		f.Experiment = &Experiment{Key: fmt.Sprintf("e%d", i), Traffic: Buckets, Layer: &Layer{Key: "checkout", Start: r[0], End: r[1]}}
		flags = append(flags, f)
	}
	s := mustCompile(t, flags...)
	counts := make([]int, 3)
	const n = 20000
	for u := 0; u < n; u++ {
		id := fmt.Sprintf("user-%d", u)
		in := 0
		for i := range flags {
			if s.Evaluate(flags[i].Key, id).ExperimentKey != "" {
				in++
				counts[i]++
			}
		}
		if in != 1 {
			t.Fatalf("user %q is in %d experiments of the layer", id, in)
		}
	}
	for i, want := range []float64{0.25, 0.25, 0.5} {
		if got := float64(counts[i]) / n; got < want-0.02 || got > want+0.02 {
			t.Errorf("experiment %d share %.3f, want about %.2f", i, got, want)
		}
	}
}
