package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/waypost/waypost/sdk/eval"
)

func v(key, value string) eval.Variant { return eval.Variant{Key: key, Value: json.RawMessage(value)} }

func w(variant string, weight int) eval.WeightedVariant {
	return eval.WeightedVariant{Variant: variant, Weight: weight}
}

var boolVariants = []eval.Variant{v("off", "false"), v("on", "true")}

func boolFlag(key, salt string, offWeight int) eval.Flag {
	return eval.Flag{
		Key: key, Kind: eval.KindBoolean, Variants: boolVariants, Enabled: true, OffVariant: "off",
		Rollout: []eval.WeightedVariant{w("off", offWeight), w("on", eval.Buckets-offWeight)},
		Salt:    salt, Version: 1,
	}
}

// FlagSets returns the flag sets the cases run against.
func FlagSets() map[string]eval.FlagSet {
	newQuote := boolFlag("new-quote", "3f9a1c0d2b7e4a11", 5000)
	newQuote.Assignments = map[string]string{"user-1": "on", "user-2": "off", "用户-42": "on"}
	newQuote.Version = 3

	// Same salt as new-quote, 60% on: only users in buckets 4000..4999 differ.
	newQuote60 := boolFlag("new-quote-60", "3f9a1c0d2b7e4a11", 4000)

	disabled := boolFlag("bool-disabled", "9d1e0f5a7c3b2e48", 5000)
	disabled.Enabled = false
	disabled.Assignments = map[string]string{"user-1": "on", "user-3": "on"}

	quoteExp := boolFlag("quote-experiment", "7a2c4e6f8b0d1a3c", 5000)
	quoteExp.Experiment = &eval.Experiment{Key: "quote-test", Traffic: 2000}
	quoteExp.Assignments = map[string]string{"user-1": "on"}

	zeroTraffic := boolFlag("zero-traffic-experiment", "0b1c2d3e4f5a6b7c", 5000)
	zeroTraffic.Experiment = &eval.Experiment{Key: "never", Traffic: 0}

	disabledExp := boolFlag("disabled-experiment", "5e6f7a8b9c0d1e2f", 5000)
	disabledExp.Enabled = false
	disabledExp.Experiment = &eval.Experiment{Key: "paused", Traffic: 10000}

	main := eval.FlagSet{
		Project: "default", Environment: "production", Revision: 12,
		Flags: []eval.Flag{
			newQuote,
			newQuote60,
			boolFlag("bool-on", "c0ffee00c0ffee00", 0),
			boolFlag("bool-off-static", "deadbeefdeadbeef", 10000),
			boolFlag("bool-10pct", "1234567890abcdef", 9000),
			boolFlag("bool-independent", "fedcba0987654321", 5000),
			disabled,
			{
				Key: "color", Kind: eval.KindString, Enabled: true, OffVariant: "control", Salt: "a1b2c3d4e5f60718", Version: 7,
				Variants: []eval.Variant{v("control", `"grey"`), v("red", `"red"`), v("green", `"green"`), v("blue", `"blue"`)},
				Rollout:  []eval.WeightedVariant{w("control", 0), w("red", 3333), w("green", 3333), w("blue", 3334)},
			},
			{
				Key: "button-text", Kind: eval.KindString, Enabled: true, OffVariant: "purchase", Salt: "2b3c4d5e6f708192", Version: 2,
				Variants: []eval.Variant{v("purchase", `"Purchase"`), v("buy", `"Buy now ✓"`)},
				Rollout:  []eval.WeightedVariant{w("purchase", 0), w("buy", 10000)},
			},
			{
				Key: "price-multiplier", Kind: eval.KindNumber, Enabled: true, OffVariant: "base", Salt: "3c4d5e6f70819203", Version: 4,
				Variants: []eval.Variant{v("low", "0.9"), v("base", "1"), v("high", "1.25")},
				Rollout:  []eval.WeightedVariant{w("low", 2500), w("base", 5000), w("high", 2500)},
			},
			{
				Key: "max-items", Kind: eval.KindNumber, Enabled: true, OffVariant: "ten", Salt: "4d5e6f7081920314", Version: 1,
				Variants:    []eval.Variant{v("ten", "10"), v("twenty", "20"), v("fifty", "50")},
				Rollout:     []eval.WeightedVariant{w("ten", 4000), w("twenty", 4000), w("fifty", 2000)},
				Assignments: map[string]string{"user-5": "fifty"},
			},
			{
				Key: "odd-numbers", Kind: eval.KindNumber, Enabled: true, OffVariant: "thousand", Salt: "5e6f708192031425", Version: 1,
				Variants: []eval.Variant{v("thousand", "1e3"), v("negative", "-7"), v("tiny", "0.001")},
				Rollout:  []eval.WeightedVariant{w("thousand", 3333), w("negative", 3333), w("tiny", 3334)},
			},
			{
				Key: "banner-config", Kind: eval.KindJSON, Enabled: true, OffVariant: "none", Salt: "6f70819203142536", Version: 9,
				Variants: []eval.Variant{
					v("none", `{}`),
					v("small", `{"title":"Hi","sizes":[1,2],"nested":{"ok":true}}`),
					v("list", `[1,"two",null,3.5]`),
					v("text", `"just a string"`),
					v("nothing", `null`),
				},
				Rollout: []eval.WeightedVariant{w("none", 0), w("small", 4000), w("list", 3000), w("text", 2000), w("nothing", 1000)},
			},
			quoteExp,
			{
				Key: "checkout-experiment", Kind: eval.KindString, Enabled: true, OffVariant: "classic", Salt: "8192031425364758", Version: 5,
				Variants:   []eval.Variant{v("classic", `"classic"`), v("one-page", `"one-page"`), v("wizard", `"wizard"`)},
				Rollout:    []eval.WeightedVariant{w("classic", 3333), w("one-page", 3333), w("wizard", 3334)},
				Experiment: &eval.Experiment{Key: "checkout-flow", Traffic: 5000},
			},
			{
				Key: "full-experiment", Kind: eval.KindNumber, Enabled: true, OffVariant: "a", Salt: "9203142536475869", Version: 2,
				Variants:   []eval.Variant{v("a", "1"), v("b", "2")},
				Rollout:    []eval.WeightedVariant{w("a", 0), w("b", 10000)},
				Experiment: &eval.Experiment{Key: "all-in", Traffic: 10000},
			},
			zeroTraffic,
			disabledExp,
		},
	}

	stagingQuote := boolFlag("new-quote", "e4f5a6b7c8d9e0f1", 5000)
	staging := eval.FlagSet{
		Project: "default", Environment: "staging", Revision: 4,
		Flags: []eval.Flag{stagingQuote},
	}
	empty := eval.FlagSet{Project: "default", Environment: "empty", Revision: 1, Flags: []eval.Flag{}}
	return map[string]eval.FlagSet{"main": main, "staging": staging, "empty": empty, "targeting": TargetingFlagSet()}
}

// Users is the set of targeting keys most flags are evaluated for.
var Users = []string{
	"", "user-0", "user-1", "user-2", "user-3", "user-4", "user-5", "user-6", "user-7",
	"user-8", "user-9", "user-10", "user-42", "user-999999",
	"用户-42", "ünïcödé", "🚀", "👩‍💻", "Ωmega", "a", "UPPER", "with space",
	"3b241101-e2bb-4255-8caf-4136c566a962", strings.Repeat("long", 25),
}

var defaults = map[string]string{
	TypeBoolean: "true",
	TypeString:  `"default"`,
	TypeNumber:  "-1.5",
	TypeInteger: "-1",
	TypeJSON:    `{"default":true}`,
}

var typeOfKind = map[eval.Kind]string{
	eval.KindBoolean: TypeBoolean,
	eval.KindString:  TypeString,
	eval.KindNumber:  TypeNumber,
	eval.KindJSON:    TypeJSON,
}

// Generate returns the canonical bytes of evaluation-cases.json.
func Generate() ([]byte, error) {
	sets := FlagSets()
	snaps := make(map[string]*eval.Snapshot, len(sets))
	for name, fs := range sets {
		s, err := eval.Compile(&fs)
		if err != nil {
			return nil, fmt.Errorf("flag set %q: %w", name, err)
		}
		snaps[name] = s
	}

	var cases []Case
	seen := map[string]bool{}
	addCtx := func(set, flag, user, ctxName string, attrs map[string]any, typ string) error {
		name := fmt.Sprintf("%s/%s/%s/%q", set, flag, typ, user)
		if ctxName != "" {
			name = fmt.Sprintf("%s/%s/%s/%s", set, flag, typ, ctxName)
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		c := Case{Name: name, FlagSet: set, Flag: flag, TargetingKey: user, Context: attrs, Type: typ, Default: json.RawMessage(defaults[typ])}
		exp, err := Run(snaps[set], c)
		if err != nil {
			return err
		}
		c.Expected = exp
		cases = append(cases, c)
		return nil
	}
	add := func(set, flag, user, typ string) error { return addCtx(set, flag, user, "", nil, typ) }

	main := sets["main"]
	// Every flag, every user, with the getter of its kind.
	for _, f := range main.Flags {
		for _, u := range Users {
			if err := add("main", f.Key, u, typeOfKind[f.Kind]); err != nil {
				return nil, err
			}
		}
	}
	// Integer getter on number flags: integral values pass, others mismatch.
	for _, key := range []string{"max-items", "price-multiplier", "odd-numbers", "full-experiment"} {
		for _, u := range Users[:12] {
			if err := add("main", key, u, TypeInteger); err != nil {
				return nil, err
			}
		}
	}
	// Type mismatches: every getter against every kind.
	for _, key := range []string{"new-quote", "bool-disabled", "color", "price-multiplier", "banner-config", "quote-experiment"} {
		for _, typ := range []string{TypeBoolean, TypeString, TypeNumber, TypeInteger, TypeJSON} {
			for _, u := range []string{"", "user-1", "user-7"} {
				if err := add("main", key, u, typ); err != nil {
					return nil, err
				}
			}
		}
	}
	// Unknown flags.
	for _, set := range []string{"main", "staging", "empty"} {
		for _, typ := range []string{TypeBoolean, TypeString, TypeNumber, TypeInteger, TypeJSON} {
			for _, u := range []string{"", "user-1"} {
				if err := add(set, "no-such-flag", u, typ); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := add("main", "NEW-QUOTE", "user-0", TypeBoolean); err != nil { // keys are case-sensitive
		return nil, err
	}
	// More users on a few split flags so every arm shows up, and the
	// 50% -> 60% band of new-quote / new-quote-60 is visible.
	for i := 11; i <= 60; i++ {
		u := fmt.Sprintf("user-%d", i)
		for _, key := range []string{"new-quote", "new-quote-60", "bool-10pct", "color"} {
			if err := add("main", key, u, typeOfKind[flagKind(main, key)]); err != nil {
				return nil, err
			}
		}
	}
	// Same key, other environment (other salt): different buckets.
	for _, u := range Users {
		if err := add("staging", "new-quote", u, TypeBoolean); err != nil {
			return nil, err
		}
	}

	// Targeting: every flag of the targeting set against every hand-picked
	// context and a pseudo-random sample, with the getter of its kind.
	targeting := sets["targeting"]
	contexts := append(TargetingContexts(), RandomContexts(80, 11)...)
	for _, f := range targeting.Flags {
		for _, tc := range contexts {
			if err := addCtx("targeting", f.Key, tc.TargetingKey, tc.Name, tc.Attributes, typeOfKind[f.Kind]); err != nil {
				return nil, err
			}
		}
	}
	// Layers: many users, so each experiment of the layer shows up.
	for i := 0; i < 40; i++ {
		u := fmt.Sprintf("user-%d", i)
		for _, key := range []string{"layer-a", "layer-b", "layer-c"} {
			if err := addCtx("targeting", key, u, "layer-"+u, map[string]any{}, TypeBoolean); err != nil {
				return nil, err
			}
		}
	}

	file := File{
		Description: "Waypost shared evaluation test vectors; see docs/evaluation.md. " +
			"Every expected field is always present; \"\" means none. On an error the expected value is the case's default. " +
			"Generated by go run ./sdk/eval/internal/gencases; do not edit by hand.",
		FlagSets: sets,
		Cases:    cases,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

func flagKind(fs eval.FlagSet, key string) eval.Kind {
	for _, f := range fs.Flags {
		if f.Key == key {
			return f.Kind
		}
	}
	return ""
}
