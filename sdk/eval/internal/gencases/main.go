// Command gencases regenerates sdk/testdata/evaluation-cases.json from the
// reference implementation. Run from the repository root:
//
//	go run github.com/waypost/waypost/sdk/eval/internal/gencases
//
// Only do this for an intended change of evaluation semantics: every SDK's
// test vectors change with it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/waypost/waypost/sdk/eval/internal/vectors"
)

func main() {
	out := flag.String("out", "sdk/testdata/evaluation-cases.json", "output file")
	flag.Parse()
	data, err := vectors.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencases:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gencases:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes)\n", *out, len(data))
}
