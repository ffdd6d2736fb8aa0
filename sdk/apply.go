package waypost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/waypost/waypost/sdk/eval"
)

// patchEvent is the data of a stream "patch" event.
type patchEvent struct {
	Revision     int64       `json:"revision"`
	BaseRevision int64       `json:"baseRevision"`
	Flags        []eval.Flag `json:"flags"`
	Deleted      []string    `json:"deleted"`
}

// errBaseMismatch: a patch does not apply to the held revision; the
// connection must be dropped and re-established (the provider then sends
// a put).
var errBaseMismatch = errors.New("waypost: patch base revision differs from the held revision")

// decodeStrict decodes one JSON value and rejects trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// applyPatch returns base with p applied: flags in p.Flags replace the
// flags with the same key (or are appended, in patch order), keys in
// p.Deleted are removed. base is not modified. The result is not
// validated; Compile does that.
func applyPatch(base *eval.FlagSet, p *patchEvent) (*eval.FlagSet, error) {
	if p.BaseRevision != base.Revision {
		return nil, fmt.Errorf("%w: base %d, held %d", errBaseMismatch, p.BaseRevision, base.Revision)
	}
	if p.Revision <= p.BaseRevision {
		return nil, fmt.Errorf("waypost: patch: revision %d not after base %d", p.Revision, p.BaseRevision)
	}
	replace := make(map[string]int, len(p.Flags))
	for i, f := range p.Flags {
		if _, dup := replace[f.Key]; dup {
			return nil, fmt.Errorf("waypost: patch: flag %q appears twice", f.Key)
		}
		replace[f.Key] = i
	}
	deleted := make(map[string]bool, len(p.Deleted))
	for _, k := range p.Deleted {
		if _, both := replace[k]; both {
			return nil, fmt.Errorf("waypost: patch: flag %q both changed and deleted", k)
		}
		deleted[k] = true
	}
	out := &eval.FlagSet{
		Project:     base.Project,
		Environment: base.Environment,
		Revision:    p.Revision,
		Flags:       make([]eval.Flag, 0, len(base.Flags)+len(p.Flags)),
		// Patches carry flags only; a provider sends a put when segments change.
		Segments: base.Segments,
	}
	used := make(map[string]bool, len(p.Flags))
	for _, f := range base.Flags {
		if deleted[f.Key] {
			continue
		}
		if i, ok := replace[f.Key]; ok {
			out.Flags = append(out.Flags, p.Flags[i])
			used[f.Key] = true
			continue
		}
		out.Flags = append(out.Flags, f)
	}
	for _, f := range p.Flags {
		if !used[f.Key] {
			out.Flags = append(out.Flags, f)
		}
	}
	return out, nil
}

// changedKeys returns, sorted, the keys of flags added, removed or
// changed between two wire flag sets (either may be nil). A flag counts
// as changed when its version or its definition differs.
func changedKeys(old, cur *eval.FlagSet) []string {
	index := func(fs *eval.FlagSet) map[string]*eval.Flag {
		m := map[string]*eval.Flag{}
		if fs != nil {
			for i := range fs.Flags {
				m[fs.Flags[i].Key] = &fs.Flags[i]
			}
		}
		return m
	}
	a, b := index(old), index(cur)
	var keys []string
	for k, fa := range a {
		fb, ok := b[k]
		if !ok || !flagEqual(fa, fb) {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func flagEqual(a, b *eval.Flag) bool {
	if a.Version != b.Version || a.Kind != b.Kind || a.Enabled != b.Enabled ||
		a.OffVariant != b.OffVariant || a.Salt != b.Salt ||
		!slices.Equal(a.Rollout, b.Rollout) || !maps.Equal(a.Assignments, b.Assignments) ||
		!reflect.DeepEqual(a.Experiment, b.Experiment) || len(a.Variants) != len(b.Variants) {
		return false
	}
	for i := range a.Variants {
		if a.Variants[i].Key != b.Variants[i].Key || !jsonEqual(a.Variants[i].Value, b.Variants[i].Value) {
			return false
		}
	}
	return true
}

// jsonEqual compares two JSON values, ignoring insignificant whitespace.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
