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
// "user" is present only for generated ids. Exit status 2 on bad input.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
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
	flag.Parse()
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
