package waypost_test

import (
	"context"
	"fmt"
	"log"
	"time"

	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

func Example() {
	// In production: ProviderURL and SDKKey (and maybe a BootstrapFile
	// with PersistBootstrap). Offline with an in-memory bootstrap keeps
	// this example self-contained.
	defaults := &eval.FlagSet{
		Project: "default", Environment: "production", Revision: 1,
		Flags: []eval.Flag{{
			Key: "new-quote", Kind: eval.KindBoolean, Enabled: true, OffVariant: "off",
			Variants: []eval.Variant{{Key: "off", Value: []byte("false")}, {Key: "on", Value: []byte("true")}},
			Rollout:  []eval.WeightedVariant{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}},
			Salt:     "3f9a1c0d2b7e4a11", Version: 3,
			Assignments: map[string]string{"user-1": "on"},
		}},
	}
	client, err := waypost.New(context.Background(), waypost.Config{
		Offline:   true,
		Bootstrap: defaults,
		OnChange: func(e waypost.ChangeEvent) {
			log.Printf("revision %d changed %v", e.Revision, e.ChangedKeys)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.WaitForReady(ctx); err != nil {
		log.Fatal(err)
	}

	for _, user := range []string{"user-1", "user-3", "user-4", ""} {
		on, res := client.BoolDetail("new-quote", user, false)
		fmt.Printf("%-8q %-5v %s\n", user, on, res.Reason)
	}
	fmt.Println(client.String("no-such-flag", "user-1", "fallback"))
	// Output:
	// "user-1" true  TARGETING_MATCH
	// "user-3" true  SPLIT
	// "user-4" false SPLIT
	// ""       false DEFAULT
	// fallback
}
