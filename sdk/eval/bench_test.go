package eval

import (
	"fmt"
	"strconv"
	"testing"
)

// benchSnapshot builds a set of ~100 flags including "target" (a 50/50
// boolean) and "experiment" (50/50 with a 50% experiment).
func benchSnapshot(tb testing.TB) *Snapshot {
	tb.Helper()
	var flags []Flag
	for i := 0; i < 98; i++ {
		flags = append(flags, boolTestFlag(fmt.Sprintf("flag-%03d", i), "salt-"+strconv.Itoa(i), i*100))
	}
	flags = append(flags, boolTestFlag("target", "3f9a1c0d2b7e4a11", 5000))
	exp := boolTestFlag("experiment", "7a2c4e6f8b0d1a3c", 5000)
	exp.Experiment = &Experiment{Key: "quote-test", Traffic: 5000}
	flags = append(flags, exp)
	return mustCompile(tb, flags...)
}

func benchIDs() []string {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "3b241101-e2bb-4255-" + strconv.Itoa(100000+i*7919)
	}
	return ids
}

var sink Result

func BenchmarkEvaluateRollout(b *testing.B) {
	s, ids := benchSnapshot(b), benchIDs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.Evaluate("target", ids[i&1023])
	}
}

func BenchmarkEvaluateExperiment(b *testing.B) {
	s, ids := benchSnapshot(b), benchIDs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = s.Evaluate("experiment", ids[i&1023])
	}
}

func BenchmarkBool(b *testing.B) {
	s, ids := benchSnapshot(b), benchIDs()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if v, _ := s.Bool("target", ids[i&1023], false); v {
			n++
		}
	}
	_ = n
}

func BenchmarkBucket(b *testing.B) {
	ids := benchIDs()
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		n += Bucket("3f9a1c0d2b7e4a11", ids[i&1023])
	}
	_ = n
}

// TestEvaluateDoesNotAllocate pins the zero-allocation property without
// any timing assertion.
func TestEvaluateDoesNotAllocate(t *testing.T) {
	s, ids := benchSnapshot(t), benchIDs()
	f := mustCompile(t, Flag{
		Key: "n", Kind: KindNumber, Enabled: true, OffVariant: "a", Salt: "s",
		Variants:    []Variant{{"a", []byte("1")}, {"b", []byte("2.5")}},
		Rollout:     []WeightedVariant{{"a", 5000}, {"b", 5000}},
		Assignments: map[string]string{"u": "b"},
	})
	j := mustCompile(t, Flag{
		Key: "j", Kind: KindJSON, Enabled: true, OffVariant: "a", Salt: "s",
		Variants: []Variant{{"a", []byte(`{"x":1}`)}},
		Rollout:  []WeightedVariant{{"a", 10000}},
	})
	for name, fn := range map[string]func(int){
		"rollout":    func(i int) { sink = s.Evaluate("target", ids[i&1023]) },
		"experiment": func(i int) { sink = s.Evaluate("experiment", ids[i&1023]) },
		"anonymous":  func(i int) { sink = s.Evaluate("target", "") },
		"missing":    func(i int) { sink = s.Evaluate("nope", ids[i&1023]) },
		"bool":       func(i int) { _, sink = s.Bool("target", ids[i&1023], false) },
		"mismatch":   func(i int) { _, sink = s.String("target", ids[i&1023], "") },
		"float":      func(i int) { _, sink = f.Float("n", ids[i&1023], 0) },
		"int":        func(i int) { _, sink = f.Int("n", ids[i&1023], 0) },
		"assigned":   func(i int) { _, sink = f.Float("n", "u", 0) },
		"json":       func(i int) { _, sink = j.JSON("j", ids[i&1023], nil) },
	} {
		i := 0
		if n := testing.AllocsPerRun(200, func() { fn(i); i++ }); n != 0 {
			t.Errorf("%s: %v allocs per evaluation", name, n)
		}
	}
}
