package provider

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
)

var ctxSeeds = []string{
	``, ` `, `{}`, `null`, `{"context":null}`, `{"context":{}}`,
	`{"context":{"targetingKey":"user-1"}}`,
	`{"context":{"targetingKey":"user-1","country":"CA","appVersion":"21.2.0","age":50,"beta":true,"gone":null}}`,
	`{"context":{"tags":["a",1,false,null],"n":-1.5e-7,"big":1e21,"z":0,"neg":-0}}`,
	` { "context" : { "a" : [ ] , "b" : "é" } } `,
	`{"context":{"a":"x","a":"y"}}`, `{"Context":{"a":1}}`, `{"context":{"a":{"b":1}}}`,
	`{"context":{"a":[[1]]}}`, `{"context":{"a":"\u00e9"}}`, `{"context":{"targetingKey":5}}`,
	`{"context":{"targetingKey":""}}`, `{"context":{"":1}}`, `{"context":[1]}`, `{"context":{"a":01}}`,
	`{"context":{"a":1.}}`, `{"context":{"a":1e400}}`, `{"context":{"a":"<&>"}}`, `{"other":1}`, `{"context":{"a":"\xff"}}`,
	`{"context":{"a":1},}`, `{"context":{"a":1}} x`, `[`, `{"context":{"a":tru}}`,
}

// FuzzOFREPContextDecode: whatever the fast decoder accepts, encoding/json
// accepts too and decodes to the same context, and the bulk ETag input
// is the same bytes as json.Marshal of that context.
func FuzzOFREPContextDecode(f *testing.F) {
	for _, s := range ctxSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &ofrepCtx{body: body}
		if !c.decodeFast() {
			return
		}
		slow, code, details := readContextSlow(body)
		if code != "" {
			t.Fatalf("fast decoder accepted %q, encoding/json refuses it: %s %s", body, code, details)
		}
		if slow.TargetingKey != c.ctx.TargetingKey {
			t.Fatalf("%q: targeting key %q, encoding/json %q", body, c.ctx.TargetingKey, slow.TargetingKey)
		}
		want := eval.AttrsFrom(slow.Attributes)
		if !attrsEqual(want, c.ctx.Attrs) {
			t.Fatalf("%q: attrs %+v, encoding/json %+v", body, c.ctx.Attrs, want)
		}
		if len(want) > 0 {
			got, _ := appendContextJSON(nil, &c.ctx)
			exp, _ := json.Marshal(slow.Attributes)
			if string(got) != string(exp) {
				t.Fatalf("%q: ETag input %s, json.Marshal %s", body, got, exp)
			}
		}
	})
}

// attrsEqual compares attribute lists, a nil list equal to an empty one.
func attrsEqual(a, b []eval.Attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !attrsEqual(x.List, y.List) {
			return false
		}
		x.List, y.List = nil, nil
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// TestOFREPContextFastPath: the bodies OFREP clients send are decoded
// without encoding/json.
func TestOFREPContextFastPath(t *testing.T) {
	for _, body := range []string{
		`{"context":{"targetingKey":"user-1","country":"CA","appVersion":"21.2.0","age":50,"beta":true}}`,
		`{"context":{"targetingKey":"user-1","tags":["a","b"]}}`,
		`{}`, ``,
	} {
		c := &ofrepCtx{body: []byte(body)}
		if code, _ := c.decode(); code != "" || !c.fast {
			t.Errorf("%s: fast=%v code=%q", body, c.fast, code)
		}
	}
	for _, body := range []string{`{"context":{"a":"\u00e9"}}`, `{"context":{"a":{"b":1}}}`, `{"context":{"targetingKey":5}}`} {
		c := &ofrepCtx{body: []byte(body)}
		if c.decode(); c.fast {
			t.Errorf("%s: decoded fast, want encoding/json", body)
		}
	}
}

// rulesFlag is the SDK benchmark's flag: 5 rules x 3 clauses (string in,
// semver, number); ofrepRulesBody matches its last rule.
func rulesFlag(key string) eval.Flag {
	f := eval.Flag{Key: key, Kind: eval.KindBoolean, Enabled: true, OffVariant: "off", Salt: "rules-salt", Version: 1,
		Variants: []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}},
		Rollout:  []eval.WeightedVariant{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}}}
	for i := 1; i <= 5; i++ {
		f.Rules = append(f.Rules, eval.Rule{ID: "rule-" + strconv.Itoa(i), Variant: "on", Clauses: []eval.Clause{
			{Attribute: "country", Op: eval.OpIn, Values: []json.RawMessage{[]byte(`"CA"`), []byte(`"US"`), []byte(`"MX"`), []byte(`"C` + strconv.Itoa(i) + `"`)}},
			{Attribute: "appVersion", Op: eval.OpSemverGTE, Values: []json.RawMessage{[]byte(`"` + strconv.Itoa(16+i) + `.2.0"`)}},
			{Attribute: "age", Op: eval.OpGTE, Values: []json.RawMessage{[]byte(strconv.Itoa(10 * i))}},
		}})
	}
	return f
}

const ofrepRulesBody = `{"context":{"targetingKey":"user-12345","country":"C5","appVersion":"21.2.0","age":50,"plan":"pro"}}`

// TestOFREPEvalPathDoesNotAllocate pins zero allocations for context
// decode -> evaluate -> encode, with and without rules.
func TestOFREPEvalPathDoesNotAllocate(t *testing.T) {
	st := benchState(t)
	for _, key := range []string{"flag-3", "rules"} {
		c := &ofrepCtx{body: []byte(ofrepRulesBody), out: make([]byte, 0, 512), attrs: make([]eval.Attr, 0, 16)}
		var b []byte
		n := testing.AllocsPerRun(200, func() {
			if code, _ := c.decode(); code != "" {
				t.Fatal(code)
			}
			b, _ = evaluateOne(st, key, &c.ctx, c.out[:0])
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per evaluation", key, n)
		}
		var res map[string]any
		if err := json.Unmarshal(b, &res); err != nil || res["value"] != true && key == "rules" {
			t.Errorf("%s: %s (%v)", key, b, err)
		}
	}
}

func benchState(tb testing.TB) *envState {
	tb.Helper()
	set := benchFlagSet()
	st, err := newEnvState(1, set, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// BenchmarkOFREPEvalPath is the evaluation path of one OFREP request
// (context decode -> evaluate -> encode), rule-less and with 5x3 rules.
func BenchmarkOFREPEvalPath(b *testing.B) {
	st := benchState(b)
	for _, key := range []string{"flag-3", "rules"} {
		b.Run(key, func(b *testing.B) {
			c := &ofrepCtx{body: []byte(ofrepRulesBody), out: make([]byte, 0, 512), attrs: make([]eval.Attr, 0, 16)}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.decode()
				c.out, _ = evaluateOne(st, key, &c.ctx, c.out[:0])
			}
		})
	}
}
