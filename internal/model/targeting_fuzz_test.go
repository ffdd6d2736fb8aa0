package model

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/sdk/eval"
)

// FuzzSaveSegment: segment bodies either fail with a typed 422 or are
// normalised into what the database stores (valid key and name, id lists
// without empty ids or duplicates, non-nil rules), idempotently.
func FuzzSaveSegment(f *testing.F) {
	f.Add([]byte(`{"key":"beta","included":["u1","u2","u1"],"excluded":["u3"]}`), true)
	f.Add([]byte(`{"name":" Staff ","rules":[{"id":"mail","clauses":[{"attribute":"email","op":"ends_with","values":["@x"]}]}]}`), false)
	f.Add([]byte(`{"key":"x","included":[""]}`), true)
	f.Add([]byte(`{"key":"x","description":"\u00fc","version":3}`), false)
	f.Fuzz(func(t *testing.T, data []byte, create bool) {
		var in SaveSegment
		if decodeStrict(data, &in) != nil {
			return
		}
		if !create && in.Name == "" {
			in.Name = "n" // the store defaults it to the segment key
		}
		err := in.Validate(create)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid {
				t.Fatalf("validation error must be KindInvalid, got %#v", err)
			}
			return
		}
		if (create && !ValidKey(in.Key)) || in.Name == "" || in.Rules == nil {
			t.Fatalf("accepted invalid segment %+v", in)
		}
		for _, list := range [][]string{in.Included, in.Excluded} {
			seen := map[string]bool{}
			for _, id := range list {
				if id == "" || seen[id] {
					t.Fatalf("accepted id list %q", list)
				}
				seen[id] = true
			}
		}
		before, _ := json.Marshal(in)
		if err := in.Validate(create); err != nil {
			t.Fatalf("second validation failed: %v", err)
		}
		if after, _ := json.Marshal(in); !bytes.Equal(before, after) {
			t.Fatalf("validation not idempotent:\n%s\n%s", before, after)
		}
	})
}

// FuzzExperimentTargeting: an accepted audience and layer are within the
// limits the database constraint and SDKs check.
func FuzzExperimentTargeting(f *testing.F) {
	f.Add([]byte(`{"audience":[{"attribute":"country","op":"in","values":["CA"]}],"layer":{"key":"checkout","start":0,"end":5000}}`))
	f.Add([]byte(`{"layer":{"key":"l","start":9999,"end":10000}}`))
	f.Add([]byte(`{"layer":{"key":"L","start":-1,"end":0}}`))
	f.Add([]byte(`{"audience":null,"layer":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in SaveExperiment
		if decodeStrict(data, &in) != nil {
			return
		}
		err := in.validateTargeting()
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid {
				t.Fatalf("validation error must be KindInvalid, got %#v", err)
			}
			return
		}
		if in.Audience == nil || len(in.Audience) > eval.MaxClauses {
			t.Fatalf("accepted audience %+v", in.Audience)
		}
		if l := in.Layer; l != nil && (!ValidKey(l.Key) || l.Start < 0 || l.End > eval.Buckets || l.Start >= l.End) {
			t.Fatalf("accepted layer %+v", *l)
		}
	})
}

// FuzzEvaluateContext: an accepted context has a string (or absent)
// targeting key and attribute names of 1..256 bytes, as OFREP requires.
func FuzzEvaluateContext(f *testing.F) {
	f.Add([]byte(`{"flag":"checkout","context":{"targetingKey":"u1","country":"CA","n":1.5,"tags":["a"]}}`))
	f.Add([]byte(`{"flag":"checkout","context":{"targetingKey":7}}`))
	f.Add([]byte(`{"flag":"checkout","context":{"":1}}`))
	f.Add([]byte(`{"flag":"Bad","context":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in EvaluateContext
		if decodeStrict(data, &in) != nil {
			return
		}
		err := in.Validate()
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid {
				t.Fatalf("validation error must be KindInvalid, got %#v", err)
			}
			return
		}
		if !ValidKey(in.Flag) {
			t.Fatalf("accepted flag %q", in.Flag)
		}
		for name, v := range in.Context {
			if name == "" || len(name) > eval.MaxAttributeLen {
				t.Fatalf("accepted attribute name %q", name)
			}
			if _, isString := v.(string); name == eval.TargetingKeyAttribute && v != nil && !isString {
				t.Fatalf("accepted targeting key %#v", v)
			}
		}
	})
}
