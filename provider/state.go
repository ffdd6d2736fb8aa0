package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/waypost/waypost/sdk/eval"
)

// envState is one environment at one revision, encoded once for every
// connection that needs it. It is immutable once built.
type envState struct {
	id       int64
	project  string
	key      string
	revision int64

	set      *eval.FlagSet
	snap     *eval.Snapshot
	body     []byte            // JSON flag set (GET /v1/flags)
	etag     string            // quoted revision
	put      *encoded          // SSE "put" event
	refetch  *encoded          // OFREP change-stream event
	flagJSON map[string][]byte // per-flag JSON, to compute patches
	segJSON  []byte            // the segments' JSON: patches carry flags only
	// patch turns the previous revision into this one (nil for the first).
	patch *patchEvent
	keys  []string  // flag keys, sorted (bulk OFREP)
	gz    gzipCache // gzipped bulk OFREP bodies of this revision
}

type patchEvent struct {
	base  int64
	event *encoded // SSE "patch" event
	keys  []string
}

type patchBody struct {
	Revision     int64       `json:"revision"`
	BaseRevision int64       `json:"baseRevision"`
	Flags        []eval.Flag `json:"flags"`
	Deleted      []string    `json:"deleted"`
}

// newEnvState compiles set and encodes it; prev (may be nil) is the state
// it replaces, used to build the patch event.
func newEnvState(id int64, set *eval.FlagSet, prev *envState) (*envState, error) {
	var prevSnap *eval.Snapshot
	if prev != nil {
		prevSnap = prev.snap
	}
	// Flags unchanged since prev keep their compiled form and their JSON:
	// a one-flag change compiles and encodes one flag.
	snap, err := eval.CompileFrom(prevSnap, set)
	if err != nil {
		return nil, fmt.Errorf("environment %d revision %d: %w", id, set.Revision, err)
	}
	st := &envState{
		id: id, project: set.Project, key: set.Environment, revision: set.Revision,
		set: set, snap: snap,
		etag:     `"` + strconv.FormatInt(set.Revision, 10) + `"`,
		refetch:  newEncoded(refetchEvent(set.Revision)),
		flagJSON: make(map[string][]byte, len(set.Flags)),
		keys:     snap.Keys(),
	}
	// Every flag is encoded once: its JSON serves the patches and, joined,
	// the set's body (the bytes json.Marshal(set) gives, at half the cost).
	size := 0
	flags := make([][]byte, len(set.Flags))
	var prevIndex map[string]int // prev's flags by key, when their order differs
	for i := range set.Flags {
		f := &set.Flags[i]
		b := prev.unchangedJSON(i, f, &prevIndex)
		if b == nil {
			if b, err = json.Marshal(f); err != nil {
				return nil, fmt.Errorf("encode flag %q: %w", f.Key, err)
			}
		}
		st.flagJSON[f.Key] = b
		flags[i] = b
		size += len(b) + 1
	}
	if st.segJSON, err = json.Marshal(set.Segments); err != nil {
		return nil, fmt.Errorf("encode segments: %w", err)
	}
	st.body = encodeSet(set, flags, st.segJSON, size)
	st.put = newEncoded(sseEvent("put", set.Revision, st.body))
	// A patch carries flags only: when segments changed, streams get a put.
	if prev != nil && prev.revision < st.revision && bytes.Equal(prev.segJSON, st.segJSON) {
		st.patch = buildPatch(prev, st)
	}
	return st, nil
}

// unchangedJSON returns the JSON st (may be nil) holds for f, the i-th
// flag of the next set, when st has the same flag (eval.FlagsEqual: the
// same JSON, st's flags being valid); else nil. index is built on first
// need, when the flag at i in st is another one.
func (st *envState) unchangedJSON(i int, f *eval.Flag, index *map[string]int) []byte {
	if st == nil {
		return nil
	}
	flags := st.set.Flags
	if i >= len(flags) || flags[i].Key != f.Key {
		if *index == nil {
			*index = make(map[string]int, len(flags))
			for j := range flags {
				(*index)[flags[j].Key] = j
			}
		}
		j, ok := (*index)[f.Key]
		if !ok {
			return nil
		}
		i = j
	}
	if !eval.FlagsEqual(&flags[i], f) {
		return nil
	}
	return st.flagJSON[f.Key]
}

// encodeSet writes set as json.Marshal would, from its flags' and
// segments' JSON already made.
func encodeSet(set *eval.FlagSet, flags [][]byte, segJSON []byte, size int) []byte {
	str := func(v string) []byte { b, _ := json.Marshal(v); return b } // strings always encode
	var b bytes.Buffer
	b.Grow(size + len(segJSON) + len(set.Project) + len(set.Environment) + 80)
	b.WriteString(`{"project":`)
	b.Write(str(set.Project))
	b.WriteString(`,"environment":`)
	b.Write(str(set.Environment))
	b.WriteString(`,"revision":`)
	b.WriteString(strconv.FormatInt(set.Revision, 10))
	b.WriteString(`,"flags":`)
	if set.Flags == nil {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		for i, f := range flags {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(f)
		}
		b.WriteByte(']')
	}
	if len(set.Segments) > 0 {
		b.WriteString(`,"segments":`)
		b.Write(segJSON)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func buildPatch(prev, next *envState) *patchEvent {
	p := patchBody{Revision: next.revision, BaseRevision: prev.revision, Flags: []eval.Flag{}, Deleted: []string{}}
	var keys []string
	for i := range next.set.Flags {
		f := &next.set.Flags[i]
		if old, ok := prev.flagJSON[f.Key]; !ok || !bytes.Equal(old, next.flagJSON[f.Key]) {
			p.Flags = append(p.Flags, *f)
			keys = append(keys, f.Key)
		}
	}
	for k := range prev.flagJSON {
		if _, ok := next.flagJSON[k]; !ok {
			p.Deleted = append(p.Deleted, k)
			keys = append(keys, k)
		}
	}
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: the same flags encoded above
		return nil
	}
	return &patchEvent{base: prev.revision, event: newEncoded(sseEvent("patch", next.revision, b)), keys: keys}
}

// sseEvent encodes one server-sent event; data is single-line JSON.
func sseEvent(name string, id int64, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(name) + 40)
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteString("\nid: ")
	b.WriteString(strconv.FormatInt(id, 10))
	b.WriteString("\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes()
}

// keyInfo is what the provider knows of a valid SDK key.
type keyInfo struct {
	id     int64
	envID  int64
	server bool
	used   *atomic.Bool // set on use; collected to update sdk_keys.last_used_at
}

type keyHash [sha256.Size]byte

func hashKey(secret string) keyHash { return sha256.Sum256([]byte(secret)) }
