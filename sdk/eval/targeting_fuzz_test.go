package eval

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzParseRFC3339 checks the allocation-free date parser against the
// standard library: whatever it accepts, time.Parse accepts with the same
// instant.
func FuzzParseRFC3339(f *testing.F) {
	for _, s := range []string{
		"2024-01-01T00:00:00Z", "2024-02-29T23:59:59.999999999+14:00", "1970-01-01t00:00:00z",
		"0000-03-01T00:00:00-23:59", "2023-02-29T00:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00.Z",
		"2024-01-01 00:00:00Z", "9999-12-31T23:59:59.5-00:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseRFC3339(s)
		if !ok {
			return
		}
		// time.Parse wants upper-case T and Z, which RFC 3339 does not require.
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatalf("parseRFC3339(%q) = %v, but time.Parse fails: %v", s, got, err)
		}
		exp := float64(want.Unix()) + float64(want.Nanosecond())/1e9
		if math.Abs(got-exp) > 1e-6 {
			t.Fatalf("parseRFC3339(%q) = %v, time.Parse gives %v", s, got, exp)
		}
	})
}

// FuzzSemver checks that precedence is a total order on what parses.
func FuzzSemver(f *testing.F) {
	f.Add("1.0.0-alpha", "1.0.0-alpha.1")
	f.Add("1.0.0-beta.11", "1.0.0-beta.2")
	f.Add("17.2", "17.2.0+build")
	f.Add("1.0.0-0.3.7", "1.0.0-x.7.z.92")
	f.Add("01.0.0", "1.0.0-")
	f.Fuzz(func(t *testing.T, a, b string) {
		va, okA := parseSemver(a)
		vb, okB := parseSemver(b)
		if !okA || !okB {
			return
		}
		ab, ba := compareSemver(va, vb), compareSemver(vb, va)
		if ab != -ba || compareSemver(va, va) != 0 {
			t.Fatalf("compare(%q,%q)=%d compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
	})
}

// FuzzPortableRegex: a pattern the portability check accepts compiles in
// RE2, and a compiled matches clause never panics.
func FuzzPortableRegex(f *testing.F) {
	for _, p := range []string{`^[a-z]+@(?:corp|staff)\.example\.com$`, `\d{2,4}`, `a{1001}`, `(?i)x`, `[[:alpha:]]`, `\s`, `a{`, `[]a]`, `\-`, `(?:用户|ü).{1,3}`} {
		f.Add(p, "jane@corp.example.com")
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		re, err := compileRegex(p)
		if err != nil {
			return
		}
		if _, err := regexp.Compile(p); err != nil {
			t.Fatalf("portable pattern %q does not compile alone: %v", p, err)
		}
		raw, _ := json.Marshal(p)
		c, err := compileClause(Clause{Attribute: "a", Op: OpMatches, Values: []json.RawMessage{raw}}, nil)
		if err != nil {
			t.Fatalf("compileClause(%q): %v", p, err)
		}
		ctx := &Context{Attributes: map[string]any{"a": s}}
		if got, want := c.match(ctx, nil), re.MatchString(s); got != want {
			t.Fatalf("clause match %v, regexp %v", got, want)
		}
	})
}

// FuzzSemverFastPath: the one-pass parser agrees with the general one on
// every input.
func FuzzSemverFastPath(f *testing.F) {
	for _, s := range []string{"21.2.0", "1", "1.2", "01.2.3", "1..2", "1.2.3.4", "1.2.3-rc.1", "1.2.3+b", "", ".", "1.", "1234567890123456.0.0", "1.2.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, okGot := parseSemver(s)
		want, okWant := parseSemverFull(s)
		if got != want || okGot != okWant {
			t.Fatalf("parseSemver(%q) = %+v, %v; general parser %+v, %v", s, got, okGot, want, okWant)
		}
	})
}
