package waypost

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
)

// benchClient returns an offline client over ~100 flags, including
// "target" (a 50/50 rollout) and "exp" (50/50, everybody in experiment).
func benchClient(b *testing.B, onExposure func(Exposure)) *Client {
	b.Helper()
	var flags []eval.Flag
	for i := range 98 {
		flags = append(flags, boolFlag(fmt.Sprintf("flag-%03d", i), i*100, 1))
	}
	flags = append(flags, boolFlag("target", 5000, 1))
	exp := boolFlag("exp", 5000, 1)
	exp.Experiment = &eval.Experiment{Key: "exp-key", Traffic: eval.Buckets}
	flags = append(flags, exp)
	set := flagSet(1, flags...)
	c, err := New(b.Context(), Config{Offline: true, Bootstrap: &set, Logger: testLogger(b), OnExposure: onExposure})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchIDs() []string {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "3b241101-e2bb-4255-" + strconv.Itoa(100000+i*7919)
	}
	return ids
}

var benchSink bool

func BenchmarkClientBoolRollout(b *testing.B) {
	c, ids := benchClient(b, func(Exposure) {}), benchIDs()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = c.Bool("target", ids[i&1023], false)
		i++
	}
}

func BenchmarkClientBoolRolloutParallel(b *testing.B) {
	c, ids := benchClient(b, func(Exposure) {}), benchIDs()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i, n := 0, 0
		for pb.Next() {
			if c.Bool("target", ids[i&1023], false) {
				n++
			}
			i++
		}
		_ = n
	})
}

// BenchmarkClientBoolExperimentSeen measures the repeat path of an
// experiment evaluation: the exposure is already recorded.
func BenchmarkClientBoolExperimentSeen(b *testing.B) {
	c, ids := benchClient(b, func(Exposure) {}), benchIDs()
	for _, id := range ids {
		c.Bool("exp", id, false)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = c.Bool("exp", ids[i&1023], false)
		i++
	}
}

// TestClientEvaluationDoesNotAllocate pins 0 allocs without timing.
func TestClientEvaluationDoesNotAllocate(t *testing.T) {
	set := experimentSet()
	c, err := New(t.Context(), Config{Offline: true, Bootstrap: &set, Logger: testLogger(t), OnExposure: func(Exposure) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ids := benchIDs()
	c.Bool("exp", ids[0], false)
	for name, fn := range map[string]func(int){
		"rollout":     func(i int) { benchSink = c.Bool("plain", ids[i&1023], false) },
		"missing":     func(i int) { benchSink = c.Bool("nope", ids[i&1023], false) },
		"mismatch":    func(i int) { _ = c.String("plain", ids[i&1023], "") },
		"exp repeat":  func(int) { benchSink = c.Bool("exp", ids[0], false) },
		"json":        func(i int) { _ = c.JSON("plain", ids[i&1023], nil) },
		"detail":      func(i int) { _, _ = c.BoolDetail("plain", ids[i&1023], false) },
		"int default": func(i int) { _ = c.Int("plain", ids[i&1023], 0) },
	} {
		i := 0
		if n := testing.AllocsPerRun(200, func() { fn(i); i++ }); n != 0 {
			t.Errorf("%s: %v allocs per evaluation", name, n)
		}
	}
}
