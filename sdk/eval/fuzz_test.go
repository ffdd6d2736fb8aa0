package eval_test

import (
	"encoding/json"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/eval/internal/vectors"
)

var reasons = map[string]bool{
	eval.ReasonDisabled: true, eval.ReasonTargetingMatch: true, eval.ReasonSplit: true,
	eval.ReasonStatic: true, eval.ReasonDefault: true, eval.ReasonPrerequisiteFailed: true,
}

// checkResult verifies the invariants of any evaluation of key in s.
func checkResult(t *testing.T, s *eval.Snapshot, key string, r eval.Result) {
	t.Helper()
	def, found := s.Flag(key)
	if !found {
		if r.Reason != eval.ReasonError || r.ErrorCode != eval.ErrorFlagNotFound || r.Variant != "" || r.ExperimentKey != "" {
			t.Fatalf("missing flag %q: %+v", key, r)
		}
		return
	}
	if r.ErrorCode != "" || !reasons[r.Reason] {
		t.Fatalf("flag %q: unexpected reason %q / error %q", key, r.Reason, r.ErrorCode)
	}
	ok := false
	for _, v := range def.Variants {
		ok = ok || v.Key == r.Variant
	}
	if !ok {
		t.Fatalf("flag %q: variant %q is not one of the flag's variants", key, r.Variant)
	}
	if _, has := r.Value(); !has {
		t.Fatalf("flag %q: no value for variant %q", key, r.Variant)
	}
	if r.ExperimentKey != "" && (def.Experiment == nil || r.ExperimentKey != def.Experiment.Key || r.Reason != eval.ReasonSplit) {
		t.Fatalf("flag %q: experiment key %q with reason %q", key, r.ExperimentKey, r.Reason)
	}
}

func FuzzEvaluate(f *testing.F) {
	sets := vectors.FlagSets()
	main := sets["main"]
	s, err := eval.Compile(&main)
	if err != nil {
		f.Fatal(err)
	}
	for _, key := range s.Keys() {
		f.Add(key, "user-1", uint8(0))
	}
	f.Add("quote-experiment", "用户-42", uint8(1))
	f.Add("color", "🚀", uint8(4))
	f.Add("", "", uint8(3))
	f.Add("no-such-flag", "\xff\xfe", uint8(2))
	f.Fuzz(func(t *testing.T, key, userID string, getter uint8) {
		r := s.Evaluate(key, userID)
		checkResult(t, s, key, r)
		if again := s.Evaluate(key, userID); again != r {
			t.Fatalf("not deterministic: %+v then %+v", r, again)
		}
		// Typed getters return either the evaluated variant or the default.
		var tr eval.Result
		switch getter % 5 {
		case 0:
			_, tr = s.Bool(key, userID, false)
		case 1:
			_, tr = s.String(key, userID, "")
		case 2:
			_, tr = s.Float(key, userID, 0)
		case 3:
			_, tr = s.Int(key, userID, 0)
		case 4:
			_, tr = s.JSON(key, userID, nil)
		}
		if tr.ErrorCode == "" && tr != r {
			t.Fatalf("typed result %+v differs from %+v", tr, r)
		}
		if tr.ErrorCode != "" && (tr.Variant != "" || tr.Reason != eval.ReasonError) {
			t.Fatalf("typed error result %+v", tr)
		}
	})
}

func FuzzCompile(f *testing.F) {
	sets := vectors.FlagSets()
	for _, name := range []string{"main", "staging", "empty", "targeting"} {
		fs := sets[name]
		data, err := json.Marshal(fs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"flags":[{"key":"x","kind":"number","variants":[{"key":"a","value":1e999}],"enabled":true,"offVariant":"a","rollout":[{"variant":"a","weight":10000}],"salt":"s"}]}`))
	f.Add([]byte(`{"flags":[{"key":"x","kind":"json","variants":[{"key":"a","value":null}],"enabled":true,"offVariant":"a","rollout":[{"variant":"a","weight":10000}],"salt":"s","experiment":{"key":"e","traffic":10000}}]}`))
	f.Add([]byte(`{"flags":[{"key":"x","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":true,"offVariant":"off","rollout":[{"variant":"off","weight":-5000},{"variant":"on","weight":15000}],"salt":"s"}]}`))
	f.Add([]byte(`{"flags":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fs eval.FlagSet
		if err := json.Unmarshal(data, &fs); err != nil {
			return
		}
		s, err := eval.Compile(&fs)
		if err != nil {
			return
		}
		for _, key := range s.Keys() {
			for _, id := range []string{"", "user-1", "用户-42"} {
				checkResult(t, s, key, s.Evaluate(key, id))
			}
			if def, _ := s.Flag(key); def.Assignments != nil {
				for id := range def.Assignments {
					r := s.Evaluate(key, id)
					checkResult(t, s, key, r)
					if def.Enabled && len(def.Prerequisites) == 0 && r.Reason != eval.ReasonTargetingMatch {
						t.Fatalf("assigned user %q of %q: %+v", id, key, r)
					}
				}
			}
		}
	})
}

// FuzzEvaluateContext evaluates the targeting flag set (every operator,
// segments, prerequisites, audiences, layers) for fuzzed contexts: one
// attribute set to a fuzzed string, number, boolean or list.
func FuzzEvaluateContext(f *testing.F) {
	fs := vectors.TargetingFlagSet()
	s, err := eval.Compile(&fs)
	if err != nil {
		f.Fatal(err)
	}
	attrs := []string{"country", "age", "betaTester", "tier", "appVersion", "signup", "email", "name", "plan", "seats", "companyId", "targetingKey"}
	for i, key := range s.Keys() {
		f.Add(key, "user-1", uint8(i), "CA", 42.0, uint8(i))
	}
	f.Add("op-semver", "u", uint8(4), "1.0.0-beta.11+x", 0.0, uint8(0))
	f.Add("op-dates", "u", uint8(5), "2024-12-31T23:59:59.75Z", 1735689600.25, uint8(1))
	f.Add("rule-rollout", "u", uint8(10), "acme", -77.0, uint8(1))
	f.Fuzz(func(t *testing.T, key, targetingKey string, attr uint8, str string, num float64, shape uint8) {
		var v any
		switch shape % 5 {
		case 0:
			v = str
		case 1:
			v = num
		case 2:
			v = num > 0
		case 3:
			v = []any{str, num}
		case 4:
			v = nil
		}
		ctx := &eval.Context{TargetingKey: targetingKey, Attributes: map[string]any{attrs[int(attr)%len(attrs)]: v, "plan": "pro"}}
		r := s.EvaluateContext(key, ctx)
		checkResult(t, s, key, r)
		if again := s.EvaluateContext(key, ctx); again != r {
			t.Fatalf("not deterministic: %+v then %+v", r, again)
		}
		decoded := &eval.Context{TargetingKey: targetingKey, Attrs: eval.AttrsFrom(ctx.Attributes)}
		if d := s.EvaluateContext(key, decoded); d != r {
			t.Fatalf("decoded attrs give %+v, the map gives %+v", d, r)
		}
		if def, ok := s.Flag(key); ok && r.RuleID != "" {
			found := false
			for _, rule := range def.Rules {
				found = found || rule.ID == r.RuleID
			}
			if !found {
				t.Fatalf("rule id %q is not a rule of %q", r.RuleID, key)
			}
		}
	})
}
