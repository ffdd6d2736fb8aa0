package model

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/waypost/waypost/internal/errs"
)

// decodeStrict mirrors the API's decoding: one object, no unknown fields.
func decodeStrict(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

func FuzzCreateFlag(f *testing.F) {
	f.Add([]byte(`{"key":"new-quote","name":"New quote"}`))
	f.Add([]byte(`{"key":"color","kind":"string","variants":[{"key":"red","value":"#f00"},{"key":"blue","value":"#00f"}]}`))
	f.Add([]byte(`{"key":"n","kind":"number","variants":[{"key":"a","value":1e308},{"key":"b","value":-0}]}`))
	f.Add([]byte(`{"key":"j","kind":"json","variants":[{"key":"a","value":{"x":[1,2,{"y":null}]}}],"tags":["a","a","b"]}`))
	f.Add([]byte(`{"key":"b","kind":"boolean","variants":[{"key":"on","value":true},{"key":"off","value":false}]}`))
	f.Add([]byte(`{"key":"ü","name":"\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in CreateFlag
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
		// A valid request satisfies the invariants the database relies on.
		if !ValidKey(in.Key) || in.Name == "" || len(in.Variants) == 0 {
			t.Fatalf("accepted invalid flag %+v", in)
		}
		for _, v := range in.Variants {
			if !ValidKey(v.Key) || !json.Valid(v.Value) {
				t.Fatalf("accepted invalid variant %+v", v)
			}
		}
		// Validation is idempotent: a normalised request stays valid and unchanged.
		before, _ := json.Marshal(in)
		if err := in.Validate(); err != nil {
			t.Fatalf("second validation failed: %v", err)
		}
		after, _ := json.Marshal(in)
		if !bytes.Equal(before, after) {
			t.Fatalf("validation not idempotent:\n%s\n%s", before, after)
		}
	})
}

func FuzzUpdateState(f *testing.F) {
	f.Add([]byte(`{"enabled":true}`))
	f.Add([]byte(`{"version":3,"rollout":[{"variant":"on","weight":2500},{"variant":"off","weight":7500}]}`))
	f.Add([]byte(`{"version":3,"rollout":[{"variant":"on","weight":10000},{"variant":"on","weight":0}]}`))
	f.Add([]byte(`{"version":1,"off_variant":"on","enabled":false}`))
	f.Add([]byte(`{"version":1,"rollout":[{"variant":"on","weight":-5000},{"variant":"off","weight":15000}]}`))
	variants := BooleanVariants()
	f.Fuzz(func(t *testing.T, data []byte) {
		var in UpdateState
		if decodeStrict(data, &in) != nil {
			return
		}
		if err := in.Validate(variants); err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid {
				t.Fatalf("validation error must be KindInvalid, got %#v", err)
			}
			return
		}
		if in.Rollout != nil {
			total := 0
			for i, w := range *in.Rollout {
				if w.Weight < 0 || w.Weight > TotalWeight || w.Variant != variants[i].Key {
					t.Fatalf("accepted bad rollout %+v", *in.Rollout)
				}
				total += w.Weight
			}
			if total != TotalWeight {
				t.Fatalf("accepted rollout summing to %d", total)
			}
		}
		if in.OffVariant != nil && !HasVariant(variants, *in.OffVariant) {
			t.Fatalf("accepted unknown off variant %q", *in.OffVariant)
		}
	})
}

func FuzzSetAssignments(f *testing.F) {
	f.Add([]byte(`{"assignments":[{"user_id":"alice","variant":"on"}]}`))
	f.Add([]byte(`{"assignments":[{"user_id":" bob","variant":"on"},{"user_id":"bob","variant":"off"}]}`))
	f.Add([]byte(`{"assignments":[{"user_id":"用户-42","variant":"off"}]}`))
	variants := BooleanVariants()
	f.Fuzz(func(t *testing.T, data []byte) {
		var in SetAssignments
		if decodeStrict(data, &in) != nil {
			return
		}
		if err := in.Validate(variants); err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range in.Assignments {
			if a.UserID == "" || len(a.UserID) > MaxUserIDLen || seen[a.UserID] || !HasVariant(variants, a.Variant) {
				t.Fatalf("accepted bad assignment %+v", a)
			}
			seen[a.UserID] = true
		}
	})
}
