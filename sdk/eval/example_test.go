package eval_test

import (
	"encoding/json"
	"fmt"

	"github.com/waypost/waypost/sdk/eval"
)

func Example() {
	const wire = `{
	  "project": "default", "environment": "production", "revision": 12,
	  "flags": [{
	    "key": "new-quote", "kind": "boolean",
	    "variants": [{"key":"off","value":false}, {"key":"on","value":true}],
	    "enabled": true, "offVariant": "off",
	    "rollout": [{"variant":"off","weight":5000}, {"variant":"on","weight":5000}],
	    "salt": "3f9a1c0d2b7e4a11",
	    "assignments": {"user-1": "on"},
	    "version": 3
	  }]
	}`
	var fs eval.FlagSet
	if err := json.Unmarshal([]byte(wire), &fs); err != nil {
		panic(err)
	}
	snap, err := eval.Compile(&fs)
	if err != nil {
		panic(err)
	}
	for _, user := range []string{"user-1", "user-3", "user-4", ""} {
		on, res := snap.Bool("new-quote", user, false)
		fmt.Printf("%-7q %-5v %s\n", user, on, res.Reason)
	}
	_, res := snap.String("new-quote", "user-1", "x")
	fmt.Println(res.Reason, res.ErrorCode)
	// Output:
	// "user-1" true  TARGETING_MATCH
	// "user-3" true  SPLIT
	// "user-4" false SPLIT
	// ""      false DEFAULT
	// ERROR TYPE_MISMATCH
}
