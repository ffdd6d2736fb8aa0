package eval_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/eval/internal/vectors"
)

var casesFile = filepath.Join("..", "testdata", "evaluation-cases.json")

func loadCases(t *testing.T) (vectors.File, []byte) {
	t.Helper()
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatalf("read test vectors: %v", err)
	}
	var f vectors.File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode test vectors: %v", err)
	}
	return f, data
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// TestEvaluationCases runs the committed shared vectors: the same file every
// SDK must pass. A change of hashing or evaluation order fails here.
func TestEvaluationCases(t *testing.T) {
	f, _ := loadCases(t)
	if len(f.Cases) < 200 {
		t.Fatalf("only %d cases", len(f.Cases))
	}
	snaps := map[string]*eval.Snapshot{}
	for name, fs := range f.FlagSets {
		s, err := eval.Compile(&fs)
		if err != nil {
			t.Fatalf("flag set %q: %v", name, err)
		}
		snaps[name] = s
	}
	for _, c := range f.Cases {
		s, ok := snaps[c.FlagSet]
		if !ok {
			t.Fatalf("case %q: unknown flag set %q", c.Name, c.FlagSet)
		}
		got, err := vectors.Run(s, c)
		if err != nil {
			t.Fatal(err)
		}
		want := c.Expected
		if got.Variant != want.Variant || got.Reason != want.Reason || got.ErrorCode != want.ErrorCode ||
			got.ExperimentKey != want.ExperimentKey || got.RuleID != want.RuleID || !jsonEqual(t, got.Value, want.Value) {
			t.Errorf("case %q:\n got  value=%s variant=%q reason=%q errorCode=%q experimentKey=%q ruleId=%q\n want value=%s variant=%q reason=%q errorCode=%q experimentKey=%q ruleId=%q",
				c.Name, got.Value, got.Variant, got.Reason, got.ErrorCode, got.ExperimentKey, got.RuleID,
				want.Value, want.Variant, want.Reason, want.ErrorCode, want.ExperimentKey, want.RuleID)
		}
	}
}

// TestEvaluationCasesUpToDate checks that the generator still produces the
// committed file byte for byte.
func TestEvaluationCasesUpToDate(t *testing.T) {
	_, committed := loadCases(t)
	generated, err := vectors.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(generated, committed) {
		t.Fatalf("%s differs from the generator output; if the change of semantics is intended, run: go run ./sdk/eval/internal/gencases", casesFile)
	}
}

// TestBucketsReference compares against values computed by the independent
// pure-Python implementation in sdk/testdata/check_buckets.py.
func TestBucketsReference(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "buckets-reference.json"))
	if err != nil {
		t.Fatalf("read reference: %v", err)
	}
	var ref struct {
		Entries []struct {
			Seed   string `json:"seed"`
			ID     string `json:"id"`
			Hash   uint32 `json:"hash"`
			Bucket int    `json:"bucket"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("decode reference: %v", err)
	}
	if len(ref.Entries) < 50 {
		t.Fatalf("only %d reference entries", len(ref.Entries))
	}
	for _, e := range ref.Entries {
		if got := eval.HashKey(e.Seed, e.ID); got != e.Hash {
			t.Errorf("HashKey(%q, %q) = %d, want %d", e.Seed, e.ID, got, e.Hash)
		}
		if got := eval.Bucket(e.Seed, e.ID); got != e.Bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", e.Seed, e.ID, got, e.Bucket)
		}
	}
}

// TestEvaluationCasesDecodedAttrs runs every shared vector with the
// context given as decoded Attrs (as the provider's OFREP endpoint
// decodes it) and checks it evaluates exactly as the map form.
func TestEvaluationCasesDecodedAttrs(t *testing.T) {
	f, _ := loadCases(t)
	snaps := map[string]*eval.Snapshot{}
	for name, fs := range f.FlagSets {
		s, err := eval.Compile(&fs)
		if err != nil {
			t.Fatalf("flag set %q: %v", name, err)
		}
		snaps[name] = s
	}
	n := 0
	for _, c := range f.Cases {
		if c.Context == nil {
			continue
		}
		s := snaps[c.FlagSet]
		want := s.EvaluateContext(c.Flag, &eval.Context{TargetingKey: c.TargetingKey, Attributes: c.Context})
		got := s.EvaluateContext(c.Flag, &eval.Context{TargetingKey: c.TargetingKey, Attrs: eval.AttrsFrom(c.Context)})
		if got != want {
			t.Errorf("case %q: decoded attrs give %+v, the map gives %+v", c.Name, got, want)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("only %d cases have a context", n)
	}
}
