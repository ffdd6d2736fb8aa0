package eval

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

// fullFlag has every field of Flag and of the types inside it set, so a
// change to any of them is visible.
func fullFlag() Flag {
	v := func(s string) json.RawMessage { return json.RawMessage(s) }
	return Flag{Key: "f", Kind: KindString, Enabled: true, OffVariant: "a", Salt: "s", Version: 3,
		Variants:      []Variant{{Key: "a", Value: v(`"x"`)}, {Key: "b", Value: v(`"y"`)}},
		Rollout:       []WeightedVariant{{Variant: "a", Weight: 5000}, {Variant: "b", Weight: 5000}},
		Assignments:   map[string]string{"u": "a"},
		Experiment:    &Experiment{Key: "e", Traffic: 100, Audience: []Clause{{Attribute: "c", Op: OpIn, Values: []json.RawMessage{v(`"CA"`)}, Negate: true}}, Layer: &Layer{Key: "l", Start: 0, End: 10}},
		Prerequisites: []Prerequisite{{Flag: "g", Variants: []string{"on"}}},
		Rules: []Rule{{ID: "r", Clauses: []Clause{{Attribute: "c", Op: OpIn, Values: []json.RawMessage{v(`"US"`)}, Negate: true}},
			Variant: "a", Rollout: []WeightedVariant{{Variant: "a", Weight: 1}}, BucketBy: "org"}},
	}
}

// leaves calls mutate once for every leaf field reachable from v (the
// first element of lists, every map value), after changing that leaf.
func leaves(v reflect.Value, path string, mutate func(path string, undo func())) {
	switch v.Kind() {
	case reflect.Pointer:
		leaves(v.Elem(), path, mutate)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			leaves(v.Field(i), path+"."+v.Type().Field(i).Name, mutate)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // json.RawMessage
			old := v.Bytes()
			v.SetBytes([]byte(`"changed"`))
			mutate(path, func() { v.SetBytes(old) })
			return
		}
		leaves(v.Index(0), path+"[0]", mutate)
	case reflect.Map:
		for _, k := range v.MapKeys() {
			old := v.MapIndex(k)
			v.SetMapIndex(k, reflect.ValueOf("changed"))
			mutate(path+"["+k.String()+"]", func() { v.SetMapIndex(k, old) })
		}
	case reflect.String:
		old := v.String()
		v.SetString(old + "x")
		mutate(path, func() { v.SetString(old) })
	case reflect.Bool:
		v.SetBool(!v.Bool())
		mutate(path, func() { v.SetBool(!v.Bool()) })
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
		mutate(path, func() { v.SetInt(v.Int() - 1) })
	default:
		panic(fmt.Sprintf("%s: kind %s: teach leaves and FlagsEqual about it", path, v.Kind()))
	}
}

// A flag differing from another in any one field is a different flag:
// CompileFrom never reuses a compiled flag for a changed definition.
func TestFlagsEqualSeesEveryField(t *testing.T) {
	a, b := fullFlag(), fullFlag()
	if !FlagsEqual(&a, &b) {
		t.Fatal("identical flags differ")
	}
	n := 0
	leaves(reflect.ValueOf(&b), "flag", func(path string, undo func()) {
		n++
		if FlagsEqual(&a, &b) || FlagsEqual(&b, &a) {
			t.Errorf("%s changed, FlagsEqual still true", path)
		}
		undo()
		if !FlagsEqual(&a, &b) {
			t.Fatalf("%s: undo left a difference", path)
		}
	})
	if n < 30 {
		t.Fatalf("only %d fields visited", n)
	}
	// Absent and empty lists are equal (they encode alike in a valid flag).
	b.Rules[0].Rollout = []WeightedVariant{}
	a.Rules[0].Rollout = nil
	if !FlagsEqual(&a, &b) {
		t.Error("nil and empty rollouts differ")
	}
}

// changeSet is a flag set with prerequisites (chain c -> b -> a), segment
// rules and a rule-less flag; used to check CompileFrom against Compile.
func changeSet() *FlagSet {
	v := func(s string) json.RawMessage { return json.RawMessage(s) }
	boolFlag := func(key string) Flag {
		return Flag{Key: key, Kind: KindBoolean, Enabled: true, OffVariant: "off", Salt: key, Version: 1,
			Variants: []Variant{{Key: "off", Value: v("false")}, {Key: "on", Value: v("true")}},
			Rollout:  []WeightedVariant{{Variant: "off", Weight: 0}, {Variant: "on", Weight: 10000}}}
	}
	fs := &FlagSet{Project: "p", Environment: "e", Revision: 1,
		Segments: []Segment{{Key: "vip", Included: []string{"u1", "u2"}, Version: 1},
			{Key: "ca", Rules: []Rule{{ID: "r", Clauses: []Clause{{Attribute: "country", Op: OpIn, Values: []json.RawMessage{v(`"CA"`)}}}}}, Version: 1}}}
	a := boolFlag("a")
	b := boolFlag("b")
	b.Prerequisites = []Prerequisite{{Flag: "a", Variants: []string{"on"}}}
	c := boolFlag("c")
	c.Prerequisites = []Prerequisite{{Flag: "b", Variants: []string{"on"}}}
	d := boolFlag("d")
	d.Rollout = []WeightedVariant{{Variant: "off", Weight: 10000}, {Variant: "on", Weight: 0}}
	d.Rules = []Rule{{ID: "vip", Variant: "on", Clauses: []Clause{{Op: OpInSegment, Values: []json.RawMessage{v(`"vip"`)}}}},
		{ID: "ca", Variant: "on", Clauses: []Clause{{Op: OpInSegment, Values: []json.RawMessage{v(`"ca"`)}}}}}
	e := boolFlag("e")
	fs.Flags = []Flag{c, a, b, d, e}
	return fs
}

// next returns a copy of fs at the next revision with change applied to
// a deep copy of its flags and segments.
func next(fs *FlagSet, change func(*FlagSet)) *FlagSet {
	out := *fs
	out.Revision++
	out.Flags = make([]Flag, len(fs.Flags))
	for i := range fs.Flags {
		out.Flags[i] = fs.Flags[i].clone()
	}
	out.Segments = append([]Segment(nil), fs.Segments...)
	change(&out)
	return &out
}

func flagIndex(fs *FlagSet, key string) int {
	for i := range fs.Flags {
		if fs.Flags[i].Key == key {
			return i
		}
	}
	panic(key)
}

// sameEvaluations fails unless got and want serve the same results to a
// range of contexts for every flag.
func sameEvaluations(t *testing.T, what string, got, want *Snapshot) {
	t.Helper()
	for _, key := range want.Keys() {
		for i := 0; i < 50; i++ {
			ctx := &Context{TargetingKey: "u" + strconv.Itoa(i), Attributes: map[string]any{"country": []string{"CA", "US"}[i%2]}}
			g, w := got.EvaluateContext(key, ctx), want.EvaluateContext(key, ctx)
			if g.Variant != w.Variant || g.Reason != w.Reason || g.ErrorCode != w.ErrorCode {
				t.Fatalf("%s: flag %s, %s: got %s/%s, Compile gives %s/%s", what, key, ctx.TargetingKey, g.Variant, g.Reason, w.Variant, w.Reason)
			}
		}
	}
	if fmt.Sprint(got.Keys()) != fmt.Sprint(want.Keys()) || got.Revision() != want.Revision() {
		t.Fatalf("%s: keys %v rev %d, Compile gives %v rev %d", what, got.Keys(), got.Revision(), want.Keys(), want.Revision())
	}
}

// CompileFrom gives what Compile gives for every kind of change: a flag
// turned off at the bottom of a prerequisite chain (its dependents serve
// off), a segment's members changed (the flags testing it follow), a flag
// removed and added, an invalid flag (refused, as by Compile); prev stays
// as it was.
func TestCompileFromMatchesCompile(t *testing.T) {
	base := changeSet()
	prev, err := Compile(base)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, k := range prev.Keys() {
		before[k] = prev.Evaluate(k, "u1").Variant
	}
	for name, change := range map[string]func(*FlagSet){
		"prerequisite off": func(fs *FlagSet) { fs.Flags[flagIndex(fs, "a")].Enabled = false },
		"segment members": func(fs *FlagSet) {
			fs.Segments[0].Included = []string{"u3"}
			fs.Segments[0].Version++
		},
		"segment rule": func(fs *FlagSet) {
			fs.Segments[1].Rules = []Rule{{ID: "r", Clauses: []Clause{{Attribute: "country", Op: OpIn, Values: []json.RawMessage{json.RawMessage(`"US"`)}}}}}
		},
		"segment removed": func(fs *FlagSet) { fs.Segments = fs.Segments[1:] }, // d refers to it: invalid
		"flag removed":    func(fs *FlagSet) { fs.Flags = append(fs.Flags[:4:4], fs.Flags[4:]...)[:4] },
		"prerequisite removed": func(fs *FlagSet) {
			i := flagIndex(fs, "a")
			fs.Flags = append(fs.Flags[:i:i], fs.Flags[i+1:]...) // b refers to it: invalid
		},
		"flag added": func(fs *FlagSet) {
			f := fs.Flags[flagIndex(fs, "e")].clone()
			f.Key = "f"
			f.Prerequisites = []Prerequisite{{Flag: "c", Variants: []string{"off"}}}
			fs.Flags = append(fs.Flags, f)
		},
		"variant renamed under a dependent": func(fs *FlagSet) { // b needs a's "on"
			a := &fs.Flags[flagIndex(fs, "a")]
			a.Variants[1].Key = "yes"
			a.Rollout[1].Variant = "yes"
		},
		"cycle": func(fs *FlagSet) {
			fs.Flags[flagIndex(fs, "a")].Prerequisites = []Prerequisite{{Flag: "c", Variants: []string{"on"}}}
		},
	} {
		fs := next(base, change)
		want, wantErr := Compile(fs)
		got, gotErr := CompileFrom(prev, fs)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("%s: CompileFrom error %v, Compile error %v", name, gotErr, wantErr)
		}
		if wantErr == nil {
			sameEvaluations(t, name, got, want)
			// And chained: a further change from the result.
			fs2 := next(fs, func(fs *FlagSet) { fs.Flags[flagIndex(fs, "c")].Enabled = false })
			want2, err1 := Compile(fs2)
			got2, err2 := CompileFrom(got, fs2)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s, then c off: %v / %v", name, err1, err2)
			}
			sameEvaluations(t, name+", then c off", got2, want2)
		}
		for _, k := range prev.Keys() {
			if v := prev.Evaluate(k, "u1").Variant; v != before[k] {
				t.Fatalf("%s: prev changed: %s serves %s, was %s", name, k, v, before[k])
			}
		}
	}
}

// A one-flag change reuses every other compiled flag and the segments.
func TestCompileFromReusesUnchanged(t *testing.T) {
	base := changeSet()
	prev, err := Compile(base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CompileFrom(prev, next(base, func(fs *FlagSet) { fs.Flags[flagIndex(fs, "e")].Enabled = false }))
	if err != nil {
		t.Fatal(err)
	}
	if got.flags["e"] == prev.flags["e"] || got.flags["d"] != prev.flags["d"] || got.segments["vip"] != prev.segments["vip"] {
		t.Fatal("changed flag reused, or unchanged flag / segment compiled again")
	}
	if got.flags["b"] == prev.flags["b"] || got.flags["b"].prereqs[0].flag != got.flags["a"] {
		t.Fatal("a flag with prerequisites must be relinked to the new snapshot's flags")
	}
}

// Snapshots share compiled flags: evaluating one while the next is
// compiled from it is safe (run with -race).
func TestCompileFromWhileEvaluating(t *testing.T) {
	base := changeSet()
	prev, err := Compile(base)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			for _, k := range prev.Keys() {
				prev.EvaluateContext(k, &Context{TargetingKey: "u" + strconv.Itoa(i%7), Attributes: map[string]any{"country": "CA"}})
			}
		}
	}()
	cur := prev
	for i := 0; i < 200; i++ {
		fs := next(base, func(fs *FlagSet) { fs.Flags[flagIndex(fs, []string{"a", "e", "d"}[i%3])].Enabled = i%2 == 0 })
		got, err := CompileFrom(cur, fs)
		if err != nil {
			t.Fatal(err)
		}
		got.EvaluateContext("c", &Context{TargetingKey: "u1"})
		cur = got
	}
	<-done
}
