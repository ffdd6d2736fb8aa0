package vectors

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/waypost/waypost/sdk/eval"
)

// clause builds a clause; values are JSON texts.
func cl(attr, op string, values ...string) eval.Clause {
	c := eval.Clause{Attribute: attr, Op: op}
	for _, v := range values {
		c.Values = append(c.Values, json.RawMessage(v))
	}
	return c
}

func not(c eval.Clause) eval.Clause { c.Negate = true; return c }

func rule(id, variant string, clauses ...eval.Clause) eval.Rule {
	return eval.Rule{ID: id, Variant: variant, Clauses: clauses}
}

func stringFlag(key, salt string, variants ...string) eval.Flag {
	f := eval.Flag{Key: key, Kind: eval.KindString, Enabled: true, OffVariant: variants[0], Salt: salt, Version: 1}
	for i, v := range variants {
		f.Variants = append(f.Variants, eval.Variant{Key: v, Value: json.RawMessage(fmt.Sprintf("%q", v))})
		weight := 0
		if i == 0 {
			weight = eval.Buckets
		}
		f.Rollout = append(f.Rollout, w(v, weight))
	}
	return f
}

// BigSegmentSize is the number of ids in the "big" segment of the
// targeting set.
const BigSegmentSize = 1000

// TargetingFlagSet is the flag set that exercises context attributes,
// every operator, segments, prerequisites, audiences and layers.
func TargetingFlagSet() eval.FlagSet {
	big := make([]string, BigSegmentSize)
	for i := range big {
		big[i] = fmt.Sprintf("big-%d", i)
	}
	segments := []eval.Segment{
		{
			Key: "beta", Version: 2,
			Included: []string{"user-1", "user-2", "用户-42"},
			Excluded: []string{"user-2", "user-3"},
			Rules:    []eval.Rule{{ID: "staff", Clauses: []eval.Clause{cl("email", eval.OpEndsWith, `"@waypost.dev"`)}}},
		},
		{Key: "big", Included: big, Version: 1},
		{
			Key: "enterprise", Version: 1,
			Rules: []eval.Rule{
				{ID: "plan", Clauses: []eval.Clause{cl("plan", eval.OpIn, `"enterprise"`)}},
				{ID: "seats", Clauses: []eval.Clause{cl("seats", eval.OpGTE, "100"), cl("plan", eval.OpExists)}},
			},
		},
	}

	onFor := func(key, salt string, rules ...eval.Rule) eval.Flag {
		f := boolFlag(key, salt, eval.Buckets)
		f.Rules = rules
		return f
	}

	numeric := stringFlag("op-numeric", "n1", "adult", "minor", "senior", "exact", "twenties")
	numeric.Rules = []eval.Rule{
		rule("minor", "minor", cl("age", eval.OpLT, "18")),
		rule("senior", "senior", cl("age", eval.OpGTE, "65")),
		rule("exact", "exact", cl("age", eval.OpEquals, "42")),
		rule("twenties", "twenties", cl("age", eval.OpGT, "19.5"), cl("age", eval.OpLTE, "29")),
	}

	semverFlag := stringFlag("op-semver", "s1", "old", "new", "beta", "exact", "legacy")
	semverFlag.Rules = []eval.Rule{
		rule("exact", "exact", cl("appVersion", eval.OpSemverEQ, `"1.0.0-beta.11"`)),
		rule("beta", "beta", cl("appVersion", eval.OpSemverGTE, `"1.0.0-alpha"`), cl("appVersion", eval.OpSemverLT, `"1.0.0"`)),
		rule("new", "new", cl("appVersion", eval.OpSemverGTE, `"17.2"`)),
		rule("legacy", "legacy", cl("appVersion", eval.OpSemverLTE, `"2.0.0"`)),
		rule("old", "old", cl("appVersion", eval.OpSemverGT, `"2.0.0"`)),
	}

	dates := stringFlag("op-dates", "d1", "none", "early", "late", "boundary")
	dates.Rules = []eval.Rule{
		rule("boundary", "boundary", cl("signup", eval.OpAfter, `"2024-12-31T23:59:59.5Z"`), cl("signup", eval.OpBefore, "1735689600.25")),
		rule("early", "early", cl("signup", eval.OpBefore, `"2024-01-01T00:00:00+01:00"`)),
		rule("late", "late", cl("signup", eval.OpAfter, "1735689600")),
	}

	stringOps := stringFlag("op-strings", "t1", "none", "contains", "starts", "ends", "regex", "unicode")
	stringOps.Rules = []eval.Rule{
		rule("unicode", "unicode", cl("name", eval.OpMatches, `"^(?:用户|ü).{1,3}$"`)),
		rule("regex", "regex", cl("email", eval.OpMatches, `"^[a-z0-9.]+@(?:corp|staff)\\.example\\.com$"`, `"\\d{4}"`)),
		rule("contains", "contains", cl("email", eval.OpContains, `"@example"`, `"+test"`)),
		rule("starts", "starts", cl("name", eval.OpStartsWith, `"Dr. "`, `"Ω"`)),
		rule("ends", "ends", cl("email", eval.OpEndsWith, `".org"`)),
	}

	multi := stringFlag("multi-rule", "m1", "default", "r1", "r2", "r3", "r4", "r5")
	for i := 1; i <= 5; i++ {
		multi.Rules = append(multi.Rules, rule(fmt.Sprintf("rule-%d", i), fmt.Sprintf("r%d", i),
			cl("country", eval.OpIn, `"CA"`, `"US"`, fmt.Sprintf(`"C%d"`, i)),
			cl("appVersion", eval.OpSemverGTE, fmt.Sprintf(`"%d.0.0"`, 10+i)),
			cl("age", eval.OpGTE, fmt.Sprintf("%d", 10*i)),
		))
	}
	multi.Rollout = []eval.WeightedVariant{w("default", 5000), w("r1", 5000), w("r2", 0), w("r3", 0), w("r4", 0), w("r5", 0)}

	rollout := boolFlag("rule-rollout", "r0115a1t", eval.Buckets)
	rollout.Rules = []eval.Rule{
		{ID: "by-company", Clauses: []eval.Clause{cl("plan", eval.OpIn, `"pro"`)}, Rollout: []eval.WeightedVariant{w("off", 5000), w("on", 5000)}, BucketBy: "companyId"},
		{ID: "canada", Clauses: []eval.Clause{cl("country", eval.OpIn, `"CA"`)}, Rollout: []eval.WeightedVariant{w("off", 3000), w("on", 7000)}},
		{ID: "all-on", Clauses: []eval.Clause{cl("country", eval.OpIn, `"US"`)}, Rollout: []eval.WeightedVariant{w("off", 0), w("on", 10000)}},
	}

	child := boolFlag("prereq-child", "p1", 5000)
	child.Prerequisites = []eval.Prerequisite{{Flag: "op-in", Variants: []string{"on"}}}
	child.Rules = []eval.Rule{rule("vip", "on", cl("plan", eval.OpIn, `"enterprise"`))}
	grandchild := boolFlag("prereq-grandchild", "p2", 0)
	grandchild.Prerequisites = []eval.Prerequisite{{Flag: "prereq-child", Variants: []string{"on"}}, {Flag: "op-semver", Variants: []string{"new", "beta"}}}
	offPrereq := boolFlag("prereq-on-disabled", "p3", 0)
	offPrereq.Prerequisites = []eval.Prerequisite{{Flag: "disabled-parent", Variants: []string{"off"}}}
	disabledParent := boolFlag("disabled-parent", "p4", 0)
	disabledParent.Enabled = false

	audience := boolFlag("audience-experiment", "a1", 5000)
	audience.Experiment = &eval.Experiment{Key: "north-america", Traffic: 8000, Audience: []eval.Clause{
		cl("country", eval.OpIn, `"CA"`, `"US"`), not(cl("", eval.OpInSegment, `"enterprise"`)),
	}}
	audience.Rules = []eval.Rule{rule("staff", "on", cl("", eval.OpInSegment, `"beta"`))}

	// A safe rollout's experiment: users outside its audience get the
	// fallback (the rollout's control variant), not the off variant.
	fallback := boolFlag("fallback-experiment", "fb1", 5000)
	fallback.Experiment = &eval.Experiment{Key: "safe-rollout", Traffic: eval.Buckets, Fallback: "on",
		Audience: []eval.Clause{cl("country", eval.OpIn, `"CA"`)}}

	layer := func(key string, start, end int) eval.Flag {
		f := boolFlag("layer-"+key, "l-"+key, 5000)
		f.Experiment = &eval.Experiment{Key: "checkout-" + key, Traffic: eval.Buckets, Layer: &eval.Layer{Key: "checkout", Start: start, End: end}}
		return f
	}
	layerSegment := layer("c", 6666, 10000)
	layerSegment.Experiment.Audience = []eval.Clause{cl("", eval.OpInSegment, `"big"`, `"beta"`)}
	layerSegment.Experiment.Traffic = 5000

	return eval.FlagSet{
		Project: "default", Environment: "targeting", Revision: 21, Segments: segments,
		Flags: []eval.Flag{
			onFor("op-in", "i1", rule("countries", "on", cl("country", eval.OpIn, `"CA"`, `"US"`, `"Ünïcode"`, `"日本"`))),
			onFor("op-in-large", "i2", rule("many", "on", cl("country", eval.OpIn, `"AD"`, `"AE"`, `"AF"`, `"AG"`, `"AI"`, `"AL"`, `"AM"`, `"AO"`, `"AQ"`, `"CA"`))),
			onFor("op-in-number", "i3", rule("answer", "on", cl("age", eval.OpIn, "42", "7.5", "-0"))),
			onFor("op-in-bool", "i4", rule("beta", "on", cl("betaTester", eval.OpIn, "true"))),
			onFor("op-in-mixed", "i5", rule("mixed", "on", cl("tier", eval.OpIn, `"1"`, "2", "false"))),
			onFor("op-negate", "g1", rule("not-ca", "on", not(cl("country", eval.OpIn, `"CA"`)))),
			onFor("op-exists", "e1",
				rule("has-plan", "on", cl("plan", eval.OpExists)),
				rule("no-email", "on", not(cl("email", eval.OpExists)), cl("country", eval.OpExists))),
			onFor("op-targeting-key", "k1", rule("key", "on", cl(eval.TargetingKeyAttribute, eval.OpStartsWith, `"user-1"`))),
			onFor("segment-beta", "sb", rule("beta", "on", cl("", eval.OpInSegment, `"beta"`))),
			onFor("segment-big", "sg", rule("big-not-enterprise", "on", cl("", eval.OpInSegment, `"big"`), not(cl("", eval.OpInSegment, `"enterprise"`)))),
			onFor("segment-enterprise", "se", rule("enterprise", "on", cl("", eval.OpInSegment, `"enterprise"`))),
			numeric, semverFlag, dates, stringOps, multi, rollout,
			child, grandchild, offPrereq, disabledParent,
			audience, fallback, layer("a", 0, 3333), layer("b", 3333, 6666), layerSegment,
		},
	}
}

// attrs is an attribute map in JSON text (numbers as float64 once decoded).
func attrs(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(fmt.Sprintf("vectors: bad context %s: %v", s, err))
	}
	return m
}

// TargetingContext is one named evaluation context of the targeting cases.
type TargetingContext struct {
	Name         string
	TargetingKey string
	Attributes   map[string]any
}

// TargetingContexts are hand-picked contexts covering every operator's
// edges: missing and null attributes, wrong types, lists, unicode,
// semver pre-releases and invalid versions, dates with offsets and
// fractions, segment include/exclude precedence.
func TargetingContexts() []TargetingContext {
	ctx := func(name, key, a string) TargetingContext {
		return TargetingContext{Name: name, TargetingKey: key, Attributes: attrs(a)}
	}
	return []TargetingContext{
		ctx("empty", "", `{}`),
		ctx("key-only", "user-7", `{}`),
		ctx("canada", "user-7", `{"country":"CA"}`),
		ctx("canada-anonymous", "", `{"country":"CA"}`),
		ctx("us", "user-8", `{"country":"US","plan":"free"}`),
		ctx("france", "user-9", `{"country":"FR","email":"a@b.fr"}`),
		ctx("country-lowercase", "user-9", `{"country":"ca"}`),
		ctx("country-null", "user-9", `{"country":null}`),
		ctx("country-number", "user-9", `{"country":5}`),
		ctx("country-list", "user-10", `{"country":["FR","CA"]}`),
		ctx("country-list-none", "user-10", `{"country":["FR","DE"]}`),
		ctx("country-empty-list", "user-10", `{"country":[]}`),
		ctx("country-unicode", "user-11", `{"country":"Ünïcode"}`),
		ctx("country-unicode-nfd", "user-11", `{"country":"U\u0308ni\u0308code"}`),
		ctx("country-cjk", "用户-42", `{"country":"日本"}`),
		ctx("country-large-set", "user-12", `{"country":"AQ"}`),
		ctx("age-17", "user-13", `{"age":17}`),
		ctx("age-18", "user-13", `{"age":18}`),
		ctx("age-20", "user-13", `{"age":20}`),
		ctx("age-29", "user-13", `{"age":29}`),
		ctx("age-29.5", "user-13", `{"age":29.5}`),
		ctx("age-42", "user-14", `{"age":42}`),
		ctx("age-42.0", "user-14", `{"age":42.0}`),
		ctx("age-string", "user-14", `{"age":"42"}`),
		ctx("age-7.5", "user-14", `{"age":7.5}`),
		ctx("age-zero", "user-14", `{"age":0}`),
		ctx("age-65", "user-15", `{"age":65}`),
		ctx("age-huge", "user-15", `{"age":1e308}`),
		ctx("age-negative", "user-15", `{"age":-1e-9}`),
		ctx("age-list", "user-15", `{"age":[3, 70]}`),
		ctx("beta-true", "user-16", `{"betaTester":true}`),
		ctx("beta-false", "user-16", `{"betaTester":false}`),
		ctx("beta-string", "user-16", `{"betaTester":"true"}`),
		ctx("beta-one", "user-16", `{"betaTester":1}`),
		ctx("tier-string-1", "user-17", `{"tier":"1"}`),
		ctx("tier-number-1", "user-17", `{"tier":1}`),
		ctx("tier-number-2", "user-17", `{"tier":2}`),
		ctx("tier-string-2", "user-17", `{"tier":"2"}`),
		ctx("tier-false", "user-17", `{"tier":false}`),
		ctx("semver-17.2", "user-18", `{"appVersion":"17.2"}`),
		ctx("semver-17.1.9", "user-18", `{"appVersion":"17.1.9"}`),
		ctx("semver-17.2.0-rc.1", "user-18", `{"appVersion":"17.2.0-rc.1"}`),
		ctx("semver-17.10.0", "user-18", `{"appVersion":"17.10.0"}`),
		ctx("semver-build", "user-18", `{"appVersion":"17.2.0+build.5"}`),
		ctx("semver-alpha", "user-19", `{"appVersion":"1.0.0-alpha"}`),
		ctx("semver-alpha.1", "user-19", `{"appVersion":"1.0.0-alpha.1"}`),
		ctx("semver-alpha.beta", "user-19", `{"appVersion":"1.0.0-alpha.beta"}`),
		ctx("semver-beta.2", "user-19", `{"appVersion":"1.0.0-beta.2"}`),
		ctx("semver-beta.11", "user-19", `{"appVersion":"1.0.0-beta.11"}`),
		ctx("semver-beta.11-build", "user-19", `{"appVersion":"1.0.0-beta.11+exp.sha.5114f85"}`),
		ctx("semver-rc.1", "user-19", `{"appVersion":"1.0.0-rc.1"}`),
		ctx("semver-1.0.0", "user-19", `{"appVersion":"1.0.0"}`),
		ctx("semver-2.0.0", "user-19", `{"appVersion":"2.0.0"}`),
		ctx("semver-3", "user-19", `{"appVersion":"3"}`),
		ctx("semver-v-prefix", "user-20", `{"appVersion":"v17.2.0"}`),
		ctx("semver-leading-zero", "user-20", `{"appVersion":"17.02.0"}`),
		ctx("semver-four-parts", "user-20", `{"appVersion":"17.2.0.1"}`),
		ctx("semver-empty-pre", "user-20", `{"appVersion":"17.2.0-"}`),
		ctx("semver-number", "user-20", `{"appVersion":17.2}`),
		ctx("semver-16-digits", "user-20", `{"appVersion":"1234567890123456.0.0"}`),
		ctx("semver-list", "user-20", `{"appVersion":["1.0.0","18.0.0"]}`),
		ctx("date-2023", "user-21", `{"signup":"2023-06-15T12:00:00Z"}`),
		ctx("date-offset-boundary", "user-21", `{"signup":"2024-01-01T00:00:00+01:00"}`),
		ctx("date-just-before", "user-21", `{"signup":"2023-12-31T22:59:59.999Z"}`),
		ctx("date-lowercase", "user-21", `{"signup":"2023-12-31t22:00:00z"}`),
		ctx("date-boundary-fraction", "user-21", `{"signup":"2025-01-01T00:00:00.1Z"}`),
		ctx("date-boundary-unix", "user-21", `{"signup":1735689600}`),
		ctx("date-boundary-unix-fraction", "user-21", `{"signup":1735689600.2}`),
		ctx("date-2026", "user-21", `{"signup":"2026-03-01T09:30:00-05:00"}`),
		ctx("date-unix-2026", "user-21", `{"signup":1772361000}`),
		ctx("date-invalid-day", "user-21", `{"signup":"2023-02-29T00:00:00Z"}`),
		ctx("date-leap-day", "user-21", `{"signup":"2024-02-29T00:00:00Z"}`),
		ctx("date-no-zone", "user-21", `{"signup":"2023-06-15T12:00:00"}`),
		ctx("date-date-only", "user-21", `{"signup":"2023-06-15"}`),
		ctx("date-space", "user-21", `{"signup":"2023-06-15 12:00:00Z"}`),
		ctx("date-ten-digit-fraction", "user-21", `{"signup":"2023-06-15T12:00:00.1234567890Z"}`),
		ctx("email-corp", "user-22", `{"email":"jane.doe@corp.example.com","name":"Jane"}`),
		ctx("email-corp-upper", "user-22", `{"email":"Jane@corp.example.com"}`),
		ctx("email-digits", "user-22", `{"email":"x2024@elsewhere.net"}`),
		ctx("email-example", "user-22", `{"email":"bob@example.net"}`),
		ctx("email-plus", "user-22", `{"email":"bob+test@mail.net"}`),
		ctx("email-org", "user-22", `{"email":"alice@site.org"}`),
		ctx("email-staff", "user-3", `{"email":"ops@waypost.dev"}`),
		ctx("email-newline", "user-22", `{"email":"a@corp.example.com\nx"}`),
		ctx("name-dr", "user-23", `{"name":"Dr. Who"}`),
		ctx("name-dr-nospace", "user-23", `{"name":"Dr.Who"}`),
		ctx("name-omega", "user-23", `{"name":"Ωmega"}`),
		ctx("name-cjk", "user-23", `{"name":"用户甲乙"}`),
		ctx("name-cjk-long", "user-23", `{"name":"用户甲乙丙丁"}`),
		ctx("name-umlaut-emoji", "user-23", `{"name":"ü😀"}`),
		ctx("name-umlaut-zwj", "user-23", `{"name":"ü👩‍💻"}`),
		ctx("plan-enterprise", "user-24", `{"plan":"enterprise","country":"CA"}`),
		ctx("plan-null", "user-24", `{"plan":null}`),
		ctx("seats-100-plan", "user-24", `{"seats":100,"plan":"team","country":"US"}`),
		ctx("seats-100-no-plan", "user-24", `{"seats":100,"country":"US"}`),
		ctx("pro-company-a", "user-25", `{"plan":"pro","companyId":"acme"}`),
		ctx("pro-company-a-other-user", "user-26", `{"plan":"pro","companyId":"acme"}`),
		ctx("pro-company-b", "user-25", `{"plan":"pro","companyId":"globex"}`),
		ctx("pro-company-number", "user-25", `{"plan":"pro","companyId":1234}`),
		ctx("pro-company-negative", "user-25", `{"plan":"pro","companyId":-77}`),
		ctx("pro-company-fraction", "user-25", `{"plan":"pro","companyId":12.5}`),
		ctx("pro-company-missing", "user-25", `{"plan":"pro"}`),
		ctx("pro-company-empty", "user-25", `{"plan":"pro","companyId":""}`),
		ctx("segment-included", "user-1", `{}`),
		ctx("segment-included-and-excluded", "user-2", `{}`),
		ctx("segment-excluded-staff", "user-3", `{"email":"ops@waypost.dev"}`),
		ctx("segment-staff", "user-99", `{"email":"ops@waypost.dev"}`),
		ctx("segment-cjk", "用户-42", `{}`),
		ctx("segment-big-first", "big-0", `{}`),
		ctx("segment-big-last", "big-999", `{"country":"CA"}`),
		ctx("segment-big-outside", "big-1000", `{}`),
		ctx("segment-big-enterprise", "big-5", `{"plan":"enterprise"}`),
		ctx("multi-match-3", "user-27", `{"country":"CA","appVersion":"13.1.0","age":30}`),
		ctx("multi-match-5", "user-27", `{"country":"C5","appVersion":"15.0.0","age":50}`),
		ctx("multi-none", "user-27", `{"country":"C5","appVersion":"14.9.9","age":50}`),
		ctx("wrong-types", "user-28", `{"country":true,"age":"old","appVersion":17,"signup":true,"email":["a@corp.example.com"],"name":{"x":1}}`),
	}
}

// RandomContexts returns n pseudo-random contexts over the attributes the
// targeting set uses, drawn from pools of typical and edge values.
func RandomContexts(n int, seed uint64) []TargetingContext {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	pools := map[string][]any{
		"country":    {"CA", "US", "FR", "ca", "日本", "Ünïcode", "AQ", "C3", 5, []any{"FR", "CA"}, nil},
		"age":        {0, 17, 18, 20, 29, 29.5, 42, 65, 7.5, "42", -3, 1e300},
		"betaTester": {true, false, "true", 1},
		"tier":       {"1", 1, 2, "2", false},
		"appVersion": {"17.2", "17.1.9", "17.2.0-rc.1", "1.0.0-beta.11", "1.0.0-alpha", "2.0.0", "3", "v1", "12.0.0", "15.0.0", 17},
		"signup":     {"2023-06-15T12:00:00Z", "2025-01-01T00:00:00.1Z", 1735689600, 1735689600.2, "2026-03-01T09:30:00-05:00", "bad", "2023-12-31t22:00:00z"},
		"email":      {"jane@corp.example.com", "bob@example.net", "alice@site.org", "ops@waypost.dev", "x2024@a.b", "plain"},
		"name":       {"Dr. Who", "Ωmega", "用户甲", "ü😀", "Bob"},
		"plan":       {"enterprise", "pro", "free", "team", nil},
		"seats":      {1, 99, 100, 250},
		"companyId":  {"acme", "globex", "initech", 1234, -77, 12.5, ""},
	}
	names := []string{"country", "age", "betaTester", "tier", "appVersion", "signup", "email", "name", "plan", "seats", "companyId"}
	keys := []string{"", "user-1", "user-2", "user-3", "用户-42", "big-7", "big-999"}
	out := make([]TargetingContext, n)
	for i := range out {
		c := TargetingContext{Name: fmt.Sprintf("random-%d", i), Attributes: map[string]any{}}
		if rng.IntN(3) == 0 {
			c.TargetingKey = keys[rng.IntN(len(keys))]
		} else {
			c.TargetingKey = fmt.Sprintf("user-%d", rng.IntN(100000))
		}
		for _, name := range names {
			if rng.IntN(2) == 0 {
				pool := pools[name]
				c.Attributes[name] = normalize(pool[rng.IntN(len(pool))])
			}
		}
		out[i] = c
	}
	return out
}

// normalize turns Go literals into what JSON decoding produces (float64).
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}
