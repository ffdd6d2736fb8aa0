// Command waypost-load measures a running `waypost provider` against the
// scale targets of the delivery design (run through scripts/bench-provider.sh):
//
//	waypost-load streams -provider URL -key KEY -streams 19000 -procs 2 -provider-pid PID
//	    holds N SSE streams (spread over child processes: one process may
//	    open at most 20,000 files here) and reports the provider's memory
//	    per stream (RSS and Go heap+stack deltas).
//	waypost-load fanout -provider URL -manager URL -key KEY -streams 10000 -changes 10
//	    toggles a flag through the manager and measures, for every stream,
//	    the delay from the moment the provider applied the revision (its
//	    waypost_provider_last_apply_unixnano metric) to the moment the client
//	    had read the event; prints p50/p90/p99/max over all streams x changes.
//	waypost-load ofrep -provider URL -key KEY -c 50 -d 10s
//	    single-flag OFREP evaluations at a fixed concurrency; prints req/s.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: waypost-load streams|fanout|ofrep|child [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "streams", "fanout":
		err = runStreams(os.Args[1], os.Args[2:])
	case "child":
		err = runChild(os.Args[2:])
	case "ofrep":
		err = runOFREP(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "waypost-load:", err)
		os.Exit(1)
	}
}
