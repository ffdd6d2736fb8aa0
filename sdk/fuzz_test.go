package waypost

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/waypost/waypost/sdk/eval"
)

// FuzzSSE checks that the parser never panics, respects its bound, gives
// the same events however the input is chunked, and that its events
// survive a re-encoding.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"retry: 1000\n\nevent: put\nid: 42\ndata: {\"revision\":42}\n\n",
		"event: patch\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n: ping\r\n\r\n",
		"data: x\r\rdata: y\r\n\n",
		"\xEF\xBB\xBFid: 1\x00\ndata\n\n",
	} {
		f.Add([]byte(s))
	}
	const max = 256
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, _, err1 := parseAll(bytes.NewReader(in), 16, max)
		bytewise, _, err2 := parseAll(iotest.OneByteReader(bytes.NewReader(in)), 16, max)
		if (err1 == io.EOF) != (err2 == io.EOF) {
			t.Fatalf("errors differ by chunking: %v vs %v", err1, err2)
		}
		if !slices.EqualFunc(whole, bytewise, eventEqual) {
			t.Fatalf("events differ by chunking:\n%q\n%q", whole, bytewise)
		}
		var enc strings.Builder
		for _, ev := range whole {
			if len(ev.Data) > max {
				t.Fatalf("event of %d bytes passed a bound of %d", len(ev.Data), max)
			}
			enc.WriteString("id: " + ev.ID + "\nevent: " + ev.Type + "\n")
			for line := range strings.SplitSeq(string(ev.Data), "\n") {
				enc.WriteString("data: " + line + "\n")
			}
			enc.WriteString("\n")
		}
		again, _, err := parseAll(strings.NewReader(enc.String()), 0, 4*max+64)
		if err != io.EOF {
			t.Fatalf("re-encoded stream: %v", err)
		}
		if !slices.EqualFunc(whole, again, eventEqual) {
			t.Fatalf("re-encoding changed events:\n%q\n%q", whole, again)
		}
	})
}

func eventEqual(a, b sseEvent) bool {
	return a.Type == b.Type && a.ID == b.ID && bytes.Equal(a.Data, b.Data)
}

// FuzzApplyPatch checks applyPatch against its specification: the base is
// untouched, deleted keys are gone, patched flags are present as sent,
// other flags are kept, and the result either compiles or is rejected.
func FuzzApplyPatch(f *testing.F) {
	f.Add(`{"revision":1,"flags":[{"key":"a","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":true,"offVariant":"off","rollout":[{"variant":"off","weight":10000},{"variant":"on","weight":0}],"salt":"s","version":1}]}`,
		`{"revision":2,"baseRevision":1,"flags":[{"key":"b","kind":"boolean","variants":[{"key":"off","value":false},{"key":"on","value":true}],"enabled":false,"offVariant":"off","rollout":[{"variant":"off","weight":10000},{"variant":"on","weight":0}],"salt":"s","version":1}],"deleted":["a"]}`)
	f.Add(`{"revision":5,"flags":[]}`, `{"revision":4,"baseRevision":5,"flags":[],"deleted":["x","x"]}`)
	f.Add(`{"revision":1,"flags":[]}`, `{"revision":2,"baseRevision":1,"flags":[{"key":"a"},{"key":"a"}]}`)
	f.Fuzz(func(t *testing.T, baseJSON, patchJSON string) {
		var base eval.FlagSet
		var p patchEvent
		if json.Unmarshal([]byte(baseJSON), &base) != nil || json.Unmarshal([]byte(patchJSON), &p) != nil {
			return
		}
		before, _ := json.Marshal(base)
		out, err := applyPatch(&base, &p)
		after, _ := json.Marshal(base)
		if !bytes.Equal(before, after) {
			t.Fatal("applyPatch modified its base")
		}
		if err != nil {
			return
		}
		if out.Revision != p.Revision || p.BaseRevision != base.Revision || p.Revision <= base.Revision {
			t.Fatalf("revisions: out %d, patch %d/%d, base %d", out.Revision, p.Revision, p.BaseRevision, base.Revision)
		}
		got := map[string]eval.Flag{}
		for _, fl := range out.Flags {
			if _, dup := got[fl.Key]; dup && !slices.ContainsFunc(base.Flags, func(b eval.Flag) bool { return b.Key == fl.Key }) {
				t.Fatalf("flag %q duplicated by the patch", fl.Key)
			}
			got[fl.Key] = fl
		}
		for _, k := range p.Deleted {
			if _, ok := got[k]; ok {
				t.Fatalf("deleted flag %q still present", k)
			}
		}
		for _, fl := range p.Flags {
			g, ok := got[fl.Key]
			if !ok {
				t.Fatalf("patched flag %q missing", fl.Key)
			}
			a, _ := json.Marshal(g)
			b, _ := json.Marshal(fl)
			if !bytes.Equal(a, b) {
				t.Fatalf("patched flag %q differs", fl.Key)
			}
		}
		for _, fl := range base.Flags {
			if slices.Contains(p.Deleted, fl.Key) || slices.ContainsFunc(p.Flags, func(x eval.Flag) bool { return x.Key == fl.Key }) {
				continue
			}
			if _, ok := got[fl.Key]; !ok {
				t.Fatalf("untouched flag %q lost", fl.Key)
			}
		}
		if s, err := eval.Compile(out); err == nil && s.Revision() != p.Revision {
			t.Fatal("compiled revision differs")
		}
	})
}
