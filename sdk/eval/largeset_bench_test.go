package eval_test

import (
	"testing"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/eval/evaltest"
)

// largeSet is the provider's large-set benchmark's environment.
func largeSet(revision int64) *eval.FlagSet { return evaltest.LargeSet("production", revision) }

// BenchmarkCompileLargeSet: a whole 5,000-flag set from scratch (a
// provider's or SDK's first load).
func BenchmarkCompileLargeSet(b *testing.B) {
	set := largeSet(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eval.Compile(set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileFromOneFlag: the next revision of that set with one
// flag toggled, compiled from the previous snapshot (a patch arriving).
func BenchmarkCompileFromOneFlag(b *testing.B) {
	set := largeSet(1)
	prev, err := eval.Compile(set)
	if err != nil {
		b.Fatal(err)
	}
	next := *set
	next.Revision++
	next.Flags = append([]eval.Flag(nil), set.Flags...)
	next.Flags[1234].Enabled = false
	next.Flags[1234].Version++
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eval.CompileFrom(prev, &next); err != nil {
			b.Fatal(err)
		}
	}
}
