package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
)

var (
	keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)
	tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._:-]{0,49}$`)
)

// Limits on request sizes.
const (
	MaxNameLen          = 200
	MaxDescriptionLen   = 10000
	MaxTags             = 20
	MaxVariants         = 100
	MaxVariantValueSize = 32 << 10
	MaxUserIDLen        = 256
	MaxAssignmentsBatch = 10000
	TotalWeight         = 10000
)

// ValidKey reports whether k is a valid project, environment, flag or
// variant key: ^[a-z0-9][a-z0-9._-]{0,99}$.
func ValidKey(k string) bool { return keyPattern.MatchString(k) }

func checkKey(field, k string) error {
	if k == "" {
		return errs.Invalid(field, "is required")
	}
	if !ValidKey(k) {
		return errs.Invalid(field, "must match ^[a-z0-9][a-z0-9._-]{0,99}$ (lower-case letters, digits, '.', '_', '-'; at most 100 characters)")
	}
	return nil
}

func cleanName(field string, name *string) error {
	*name = strings.TrimSpace(*name)
	if *name == "" {
		return errs.Invalid(field, "is required")
	}
	if utf8.RuneCountInString(*name) > MaxNameLen || !utf8.ValidString(*name) {
		return errs.Invalid(field, "must be valid text of at most %d characters", MaxNameLen)
	}
	return nil
}

func cleanTags(field string, tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, errs.Invalid(field, "at most %d tags", MaxTags)
	}
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if !tagPattern.MatchString(t) {
			return nil, errs.Invalid(fmt.Sprintf("%s[%d]", field, i), "must match ^[a-z0-9][a-z0-9._:-]{0,49}$")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// ParseKind validates a flag kind.
func ParseKind(field, s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindBoolean, KindString, KindNumber, KindJSON:
		return k, nil
	}
	return "", errs.Invalid(field, "must be one of boolean, string, number, json")
}

// BooleanVariants are the fixed variants of a boolean flag.
func BooleanVariants() []Variant {
	return []Variant{
		{Key: "off", Name: "Off", Value: json.RawMessage("false")},
		{Key: "on", Name: "On", Value: json.RawMessage("true")},
	}
}

// ValidateVariants checks variants against kind and normalises them in
// place (value JSON compacted, empty names defaulted to the key).
func ValidateVariants(field string, kind Kind, vs []Variant) error {
	if len(vs) == 0 {
		return errs.Invalid(field, "at least one variant is required")
	}
	if len(vs) > MaxVariants {
		return errs.Invalid(field, "at most %d variants", MaxVariants)
	}
	seen := map[string]bool{}
	for i := range vs {
		v := &vs[i]
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkKey(f+".key", v.Key); err != nil {
			return err
		}
		if seen[v.Key] {
			return errs.Invalid(f+".key", "duplicate variant key %q", v.Key)
		}
		seen[v.Key] = true
		if v.Name == "" {
			v.Name = v.Key
		}
		if err := cleanName(f+".name", &v.Name); err != nil {
			return err
		}
		if len(v.Value) == 0 {
			return errs.Invalid(f+".value", "is required")
		}
		if len(v.Value) > MaxVariantValueSize {
			return errs.Invalid(f+".value", "at most %d bytes", MaxVariantValueSize)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v.Value); err != nil {
			return errs.Invalid(f+".value", "must be valid JSON")
		}
		v.Value = json.RawMessage(buf.Bytes())
		var x any
		if err := json.Unmarshal(v.Value, &x); err != nil {
			return errs.Invalid(f+".value", "must be valid JSON")
		}
		ok := false
		switch kind {
		case KindBoolean:
			_, ok = x.(bool)
		case KindString:
			_, ok = x.(string)
		case KindNumber:
			_, ok = x.(float64)
		case KindJSON:
			// OpenFeature's object type: arrays, scalars and null are
			// refused (OFREP clients reject them).
			_, ok = x.(map[string]any)
		}
		if !ok {
			if kind == KindJSON {
				return errs.Invalid(f+".value", "must be a JSON object (OpenFeature's object type); wrap arrays and scalars in an object")
			}
			return errs.Invalid(f+".value", "must be a %s value", kind)
		}
	}
	if kind == KindBoolean {
		if len(vs) != 2 || vs[0].Key != "off" || vs[1].Key != "on" ||
			string(vs[0].Value) != "false" || string(vs[1].Value) != "true" {
			return errs.Invalid(field, `a boolean flag has exactly the variants "off" (false) and "on" (true); only their names may change`)
		}
	}
	return nil
}

// NormalizeRollout validates weights against the flag's variants and
// returns them in variant order, with unmentioned variants at weight 0.
func NormalizeRollout(field string, ws []Weight, vs []Variant) ([]Weight, error) {
	if len(ws) == 0 {
		return nil, errs.Invalid(field, "at least one weight is required")
	}
	byKey := make(map[string]int, len(ws))
	total := 0
	for i, w := range ws {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, dup := byKey[w.Variant]; dup {
			return nil, errs.Invalid(f+".variant", "variant %q listed twice", w.Variant)
		}
		if w.Weight < 0 || w.Weight > TotalWeight {
			return nil, errs.Invalid(f+".weight", "must be between 0 and %d basis points", TotalWeight)
		}
		byKey[w.Variant] = w.Weight
		total += w.Weight
	}
	known := make(map[string]bool, len(vs))
	for _, v := range vs {
		known[v.Key] = true
	}
	for i, w := range ws {
		if !known[w.Variant] {
			return nil, errs.Invalid(fmt.Sprintf("%s[%d].variant", field, i), "unknown variant %q", w.Variant)
		}
	}
	if total != TotalWeight {
		return nil, errs.Invalid(field, "weights must sum to %d basis points (100%%), got %d", TotalWeight, total)
	}
	out := make([]Weight, len(vs))
	for i, v := range vs {
		out[i] = Weight{Variant: v.Key, Weight: byKey[v.Key]}
	}
	return out, nil
}

// HasVariant reports whether key names one of vs.
func HasVariant(vs []Variant, key string) bool {
	for _, v := range vs {
		if v.Key == key {
			return true
		}
	}
	return false
}
