// Command crosscheck evaluates a flag set for many user ids with the Go
// reference implementation (package eval) and prints one JSON line per user
// and flag, so that SDKs in other languages can compare their results
// bucket for bucket (sdk/js/test/crosscheck.test.mjs does this for the Node
// SDK).
//
// Usage:
//
//	go run ./sdk/eval/internal/crosscheck -flags flagset.json < users.jsonl
//	go run ./sdk/eval/internal/crosscheck -flags flagset.json -seed 42 -n 100000
//
// With -n 0 (the default) user ids are read from standard input, one JSON
// string per line. With -n N, N ids are generated from -seed (ASCII,
// Latin-1, CJK, emoji and ZWJ sequences mixed) and echoed in the output.
//
// Output, one line per user and flag (in flag-key order):
//
//	{"i":0,"user":"...","flag":"new-quote","variant":"on","reason":"SPLIT","experimentKey":"","version":3}
//
// "user" is present only for generated ids.
//
// With -contexts, standard input starts with one line holding a JSON array
// of flag sets, followed by one JSON line per evaluation context:
// [setIndex, targetingKey, {attributes}]. For each context one line is
// printed with every flag of that set (in key order), separated by ";":
// variant,reason,ruleId,experimentKey,version. This is the compact form the
// million-pair cross-check with the Node SDK uses.
//
// Exit status 2 on bad input.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/waypost/waypost/sdk/eval"
)

type line struct {
	I             int     `json:"i"`
	User          *string `json:"user,omitempty"`
	Flag          string  `json:"flag"`
	Variant       string  `json:"variant"`
	Reason        string  `json:"reason"`
	ErrorCode     string  `json:"errorCode,omitempty"`
	ExperimentKey string  `json:"experimentKey"`
	Version       int64   `json:"version"`
}

func main() {
	flagsPath := flag.String("flags", "", "flag set JSON file (required; \"-\" is not allowed: stdin carries user ids)")
	n := flag.Int("n", 0, "generate this many user ids instead of reading them from stdin")
	seed := flag.Uint64("seed", 1, "seed for generated user ids")
	contexts := flag.Bool("contexts", false, "read flag sets and evaluation contexts from stdin (see package doc)")
	flag.Parse()
	if *contexts {
		if err := runContexts(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "crosscheck:", err)
			os.Exit(2)
		}
		return
	}
	if err := run(*flagsPath, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "crosscheck:", err)
		os.Exit(2)
	}
}

func run(flagsPath string, n int, seed uint64) error {
	if flagsPath == "" {
		return fmt.Errorf("-flags is required")
	}
	raw, err := os.ReadFile(flagsPath)
	if err != nil {
		return err
	}
	var fs eval.FlagSet
	if err := json.Unmarshal(raw, &fs); err != nil {
		return fmt.Errorf("flag set: %w", err)
	}
	snap, err := eval.Compile(&fs)
	if err != nil {
		return err
	}
	keys := snap.Keys()

	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	enc := json.NewEncoder(out)
	emit := func(i int, user string, echo bool) error {
		for _, k := range keys {
			r := snap.Evaluate(k, user)
			l := line{I: i, Flag: k, Variant: r.Variant, Reason: r.Reason, ErrorCode: r.ErrorCode, ExperimentKey: r.ExperimentKey, Version: r.FlagVersion}
			if echo {
				l.User = &user
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}

	if n > 0 {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		for i := 0; i < n; i++ {
			if err := emit(i, randomID(rng), true); err != nil {
				return err
			}
		}
		return nil
	}

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for i := 0; sc.Scan(); i++ {
		var user string
		if err := json.Unmarshal(sc.Bytes(), &user); err != nil {
			return fmt.Errorf("stdin line %d: want a JSON string: %w", i+1, err)
		}
		if err := emit(i, user, false); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Pieces a generated id is made of: ASCII, Latin-1 and other 2-byte, CJK
// (3-byte), emoji (4-byte) and a ZWJ family sequence.
var alphabet = []string{
	"a", "b", "z", "0", "9", "-", "_", "@", ".", " ", ":",
	"é", "ü", "ß", "Ω", "ж",
	"用", "户", "中", "文", "€",
	"😀", "🚀", "👩‍👩‍👧",
}

func randomID(rng *rand.Rand) string {
	var b strings.Builder
	switch rng.IntN(4) {
	case 0: // typical ids
		fmt.Fprintf(&b, "user-%d", rng.IntN(10_000_000))
	case 1:
		fmt.Fprintf(&b, "%08x-%04x", rng.Uint32(), rng.IntN(1<<16))
	default:
		l := rng.IntN(24)
		for j := 0; j < l; j++ {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// runContexts implements -contexts.
func runContexts(in io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<28)
	if !sc.Scan() {
		return fmt.Errorf("stdin: want a first line with the flag sets: %v", sc.Err())
	}
	var sets []eval.FlagSet
	if err := json.Unmarshal(sc.Bytes(), &sets); err != nil {
		return fmt.Errorf("flag sets: %w", err)
	}
	snaps := make([]*eval.Snapshot, len(sets))
	keys := make([][]string, len(sets))
	for i := range sets {
		s, err := eval.Compile(&sets[i])
		if err != nil {
			return fmt.Errorf("flag set %d: %w", i, err)
		}
		snaps[i], keys[i] = s, s.Keys()
	}
	out := bufio.NewWriterSize(w, 1<<20)
	defer out.Flush()
	var buf []byte
	for line := 2; sc.Scan(); line++ {
		var row []any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("stdin line %d: want [set, targetingKey, attributes]: %w", line, err)
		}
		set, ok1 := rowInt(row, 0)
		key, ok2 := rowAt[string](row, 1)
		attrs, ok3 := rowAt[map[string]any](row, 2)
		if len(row) != 3 || !ok1 || !ok2 || !ok3 || set < 0 || set >= len(snaps) {
			return fmt.Errorf("stdin line %d: want [set, targetingKey, attributes], got %s", line, sc.Bytes())
		}
		ctx := eval.Context{TargetingKey: key, Attributes: attrs}
		buf = buf[:0]
		for j, k := range keys[set] {
			r := snaps[set].EvaluateContext(k, &ctx)
			if j > 0 {
				buf = append(buf, ';')
			}
			buf = append(buf, r.Variant...)
			buf = append(buf, ',')
			buf = append(buf, r.Reason...)
			buf = append(buf, ',')
			buf = append(buf, r.RuleID...)
			buf = append(buf, ',')
			buf = append(buf, r.ExperimentKey...)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, r.FlagVersion, 10)
		}
		buf = append(buf, '\n')
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	return sc.Err()
}

func rowAt[T any](row []any, i int) (T, bool) {
	var zero T
	if i >= len(row) {
		return zero, false
	}
	v, ok := row[i].(T)
	return v, ok
}

func rowInt(row []any, i int) (int, bool) {
	f, ok := rowAt[float64](row, i)
	return int(f), ok && f == float64(int(f))
}
