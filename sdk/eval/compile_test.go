package eval

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func testFlag() Flag {
	return Flag{
		Key:  "f",
		Kind: KindString,
		Variants: []Variant{
			{Key: "a", Value: json.RawMessage(`"A"`)},
			{Key: "b", Value: json.RawMessage(`"B"`)},
		},
		Enabled:     true,
		OffVariant:  "a",
		Rollout:     []WeightedVariant{{"a", 5000}, {"b", 5000}},
		Salt:        "salt",
		Assignments: map[string]string{"u": "b"},
		Version:     1,
		Experiment:  &Experiment{Key: "e", Traffic: 1000},
	}
}

func TestCompileValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Flag)
		field  string
	}{
		{"unknown kind", func(f *Flag) { f.Kind = "date" }, "kind"},
		{"empty salt", func(f *Flag) { f.Salt = "" }, "salt"},
		{"no variants", func(f *Flag) { f.Variants = nil; f.Rollout = nil }, "variants"},
		{"empty variant key", func(f *Flag) { f.Variants[1].Key = "" }, "variants[1].key"},
		{"duplicate variant key", func(f *Flag) { f.Variants[1].Key = "a" }, "variants[1].key"},
		{"missing value", func(f *Flag) { f.Variants[0].Value = nil }, "variants[0].value"},
		{"invalid JSON value", func(f *Flag) { f.Variants[0].Value = json.RawMessage(`"x`) }, "variants[0].value"},
		{"value not a string", func(f *Flag) { f.Variants[0].Value = json.RawMessage(`1`) }, "variants[0].value"},
		{"unknown off variant", func(f *Flag) { f.OffVariant = "zzz" }, "offVariant"},
		{"unknown rollout variant", func(f *Flag) { f.Rollout[1].Variant = "zzz" }, "rollout[1].variant"},
		{"rollout out of order", func(f *Flag) { f.Rollout[0], f.Rollout[1] = f.Rollout[1], f.Rollout[0] }, "rollout[0].variant"},
		{"rollout missing variant", func(f *Flag) { f.Rollout = f.Rollout[:1]; f.Rollout[0].Weight = 10000 }, "rollout"},
		{"weights sum low", func(f *Flag) { f.Rollout[0].Weight = 4999 }, "rollout"},
		{"weights sum high", func(f *Flag) { f.Rollout[0].Weight = 5001 }, "rollout"},
		{"negative weight", func(f *Flag) { f.Rollout[0].Weight = -1; f.Rollout[1].Weight = 10001 }, "rollout[0].weight"},
		{"unknown assigned variant", func(f *Flag) { f.Assignments["u"] = "zzz" }, "assignments"},
		{"empty assigned user", func(f *Flag) { f.Assignments[""] = "a" }, "assignments"},
		{"empty experiment key", func(f *Flag) { f.Experiment.Key = "" }, "experiment.key"},
		{"traffic too high", func(f *Flag) { f.Experiment.Traffic = 10001 }, "experiment.traffic"},
		{"traffic negative", func(f *Flag) { f.Experiment.Traffic = -1 }, "experiment.traffic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlag()
			tt.mutate(&f)
			_, err := Compile(&FlagSet{Flags: []Flag{f}})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.Flag != "f" || ve.Field != tt.field {
				t.Errorf("error names flag %q field %q, want flag %q field %q (%v)", ve.Flag, ve.Field, "f", tt.field, err)
			}
			if !strings.Contains(err.Error(), `flag "f"`) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name flag and field", err)
			}
		})
	}
}

func TestCompileKindValues(t *testing.T) {
	bad := map[Kind][]string{
		KindBoolean: {`"true"`, `1`, `null`},
		KindString:  {`true`, `1`, `null`, `["a"]`},
		KindNumber:  {`"1"`, `true`, `null`, `1e400`},
		KindJSON:    {`{`, `nul`},
	}
	for kind, values := range bad {
		for _, raw := range values {
			if _, err := decodeValue(kind, json.RawMessage(raw)); err == nil {
				t.Errorf("decodeValue(%s, %s) accepted", kind, raw)
			}
		}
	}
	for _, tt := range []struct {
		raw   string
		f     float64
		i     int64
		isInt bool
	}{
		{"1", 1, 1, true}, {"1.0", 1, 1, true}, {"1e3", 1000, 1000, true}, {"-7", -7, -7, true},
		{"0.5", 0.5, 0, false}, {"9223372036854775807", 9223372036854775807, 9223372036854775807, true},
		{"9223372036854775808", 9223372036854775808, 0, false}, {"-0", 0, 0, true},
	} {
		v, err := decodeValue(KindNumber, json.RawMessage(tt.raw))
		if err != nil {
			t.Fatalf("decodeValue(number, %s): %v", tt.raw, err)
		}
		if v.Float != tt.f || v.IsInt != tt.isInt || (tt.isInt && v.Int != tt.i) {
			t.Errorf("decodeValue(number, %s) = %+v", tt.raw, v)
		}
	}
}

func TestCompileBooleanShape(t *testing.T) {
	mk := func(variants ...Variant) Flag {
		f := Flag{Key: "b", Kind: KindBoolean, Variants: variants, Enabled: true, Salt: "s"}
		f.OffVariant = variants[0].Key
		for i, v := range variants {
			w := 0
			if i == 0 {
				w = Buckets
			}
			f.Rollout = append(f.Rollout, WeightedVariant{v.Key, w})
		}
		return f
	}
	off := Variant{"off", json.RawMessage("false")}
	on := Variant{"on", json.RawMessage("true")}
	for name, f := range map[string]Flag{
		"only on":        mk(on),
		"swapped values": mk(Variant{"off", json.RawMessage("true")}, Variant{"on", json.RawMessage("false")}),
		"other names":    mk(Variant{"no", json.RawMessage("false")}, Variant{"yes", json.RawMessage("true")}),
		"three":          mk(off, on, Variant{"maybe", json.RawMessage("true")}),
	} {
		if _, err := Compile(&FlagSet{Flags: []Flag{f}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Compile(&FlagSet{Flags: []Flag{mk(off, on)}}); err != nil {
		t.Errorf("valid boolean flag rejected: %v", err)
	}
	if _, err := Compile(&FlagSet{Flags: []Flag{mk(on, off)}}); err != nil {
		t.Errorf("boolean flag listing on first rejected: %v", err)
	}
}

func TestCompileSetErrors(t *testing.T) {
	if _, err := Compile(nil); err == nil {
		t.Error("nil flag set accepted")
	}
	f := testFlag()
	if _, err := Compile(&FlagSet{Flags: []Flag{f, f}}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate flag: err = %v", err)
	}
	f.Key = ""
	if _, err := Compile(&FlagSet{Flags: []Flag{f}}); err == nil {
		t.Error("empty flag key accepted")
	}
}

func TestSnapshotAccessorsAndImmutability(t *testing.T) {
	fs := &FlagSet{Project: "p", Environment: "production", Revision: 12, Flags: []Flag{testFlag()}}
	g := testFlag()
	g.Key = "a-first"
	fs.Flags = append(fs.Flags, g)
	s, err := Compile(fs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Project() != "p" || s.Environment() != "production" || s.Revision() != 12 {
		t.Errorf("accessors: %q %q %d", s.Project(), s.Environment(), s.Revision())
	}
	if k := s.Keys(); len(k) != 2 || k[0] != "a-first" || k[1] != "f" {
		t.Errorf("Keys() = %v", k)
	}
	before := s.Evaluate("f", "u")

	// Mutating the input, or what Flag and Keys return, must not leak in.
	fs.Flags[0].Enabled = false
	fs.Flags[0].Assignments["u"] = "a"
	fs.Flags[0].Variants[1].Value[1] = 'Z'
	got, _ := s.Flag("f")
	got.Assignments["u"] = "a"
	got.Variants[1].Value[1] = 'Z'
	s.Keys()[0] = "mutated"

	after := s.Evaluate("f", "u")
	if after != before || after.Variant != "b" {
		t.Errorf("snapshot changed: before %+v after %+v", before, after)
	}
	if v, _ := s.String("f", "u", ""); v != "B" {
		t.Errorf("value changed to %q", v)
	}
	if s.Keys()[0] != "a-first" {
		t.Error("Keys shares its slice")
	}
	if _, ok := s.Flag("missing"); ok {
		t.Error("Flag(missing) found")
	}
}

func TestNilSnapshot(t *testing.T) {
	var s *Snapshot
	if r := s.Evaluate("x", "u"); r.ErrorCode != ErrorFlagNotFound {
		t.Errorf("nil snapshot: %+v", r)
	}
	if v, r := s.Bool("x", "u", true); !v || r.Reason != ReasonError {
		t.Errorf("nil snapshot Bool: %v %+v", v, r)
	}
	if s.Keys() != nil || s.Revision() != 0 || s.Environment() != "" || s.Project() != "" {
		t.Error("nil snapshot accessors")
	}
	if _, ok := s.Flag("x"); ok {
		t.Error("nil snapshot Flag found")
	}
}
