package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// Guards that keep targeting references valid when the flags they name
// change: a prerequisite flag cannot be archived, and a variant that a
// rule, a prerequisite or an experiment uses cannot be removed (or
// renamed, which is removing it and adding another).

// inUse is the 409 for a change that would break a reference, naming it.
func inUse(field, format string, a ...any) error {
	return &errs.Error{Kind: errs.KindConflict, Code: "in_use", Field: field, Message: fmt.Sprintf(format, a...)}
}

// prerequisiteInUse refuses archiving flagKey while a live flag of the
// project names it as a prerequisite.
func prerequisiteInUse(ctx context.Context, q *db.Queries, projectID int64, flagKey string) error {
	deps, err := q.PrerequisiteDependents(ctx, db.PrerequisiteDependentsParams{ProjectID: projectID, FlagKey: flagKey})
	if err != nil {
		return fmt.Errorf("prerequisite dependents: %w", err)
	}
	if len(deps) == 0 {
		return nil
	}
	names := make([]string, 0, len(deps))
	for _, d := range deps {
		names = append(names, fmt.Sprintf("%q in %s", d.Key, d.EnvironmentKey))
	}
	return inUse("flag", "flag %q is a prerequisite of flag %s; remove the prerequisite first", flagKey, strings.Join(names, ", "))
}

// variantInUse refuses removing variant from the flag when one of its
// rules serves it (or gives it rollout weight), another flag requires it
// as a prerequisite variant, or an experiment that is not stopped gives
// it weight.
func variantInUse(ctx context.Context, q *db.Queries, projectID, flagID int64, flagKey, variant string) error {
	states, err := q.ListFlagStates(ctx, []int64{flagID})
	if err != nil {
		return fmt.Errorf("list flag states: %w", err)
	}
	for _, st := range states {
		rules, err := decodeRules(st.Rules)
		if err != nil {
			return err
		}
		for i, r := range rules {
			uses := r.Variant == variant
			for _, w := range r.Rollout {
				uses = uses || (w.Variant == variant && w.Weight > 0)
			}
			if uses {
				return inUse("variants", "variant %q is served by rule %q (rules[%d]) in %s; change that rule first", variant, r.ID, i, st.EnvironmentKey)
			}
		}
	}
	deps, err := q.PrerequisiteDependents(ctx, db.PrerequisiteDependentsParams{ProjectID: projectID, FlagKey: flagKey})
	if err != nil {
		return fmt.Errorf("prerequisite dependents: %w", err)
	}
	for _, d := range deps {
		var vs []string
		if err := json.Unmarshal(d.Variants, &vs); err != nil {
			return fmt.Errorf("decode prerequisite variants: %w", err)
		}
		if slices.Contains(vs, variant) {
			return inUse("variants", "variant %q is a prerequisite variant of flag %q in %s; change that prerequisite first", variant, d.Key, d.EnvironmentKey)
		}
	}
	xs, err := q.FlagExperimentWeights(ctx, flagID)
	if err != nil {
		return fmt.Errorf("experiment weights: %w", err)
	}
	for _, x := range xs {
		var ws []model.Weight
		if err := json.Unmarshal(x.Weights, &ws); err != nil {
			return fmt.Errorf("decode experiment weights: %w", err)
		}
		for _, w := range ws {
			if w.Variant == variant && w.Weight > 0 {
				return inUse("variants", "variant %q is an arm of experiment %q in %s; change its weights or stop it first", variant, x.Key, x.EnvironmentKey)
			}
		}
	}
	return nil
}

// reshapeRuleRollouts rewrites the rollouts of a flag's rules in one
// environment for a new variant list (one entry per variant, in order;
// new variants get weight 0), as the flag's own rollout is.
func reshapeRuleRollouts(ctx context.Context, q *db.Queries, raw json.RawMessage, next []model.Variant, flagID, envID int64) error {
	rules, err := decodeRules(raw)
	if err != nil {
		return err
	}
	changed := false
	for i, r := range rules {
		if r.Rollout == nil {
			continue
		}
		weights := map[string]int{}
		for _, w := range r.Rollout {
			weights[w.Variant] = w.Weight
		}
		reshaped := make([]eval.WeightedVariant, len(next))
		for j, v := range next {
			reshaped[j] = eval.WeightedVariant{Variant: v.Key, Weight: weights[v.Key]}
		}
		if !slices.Equal(reshaped, r.Rollout) {
			rules[i].Rollout = reshaped
			changed = true
		}
	}
	if !changed {
		return nil
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return fmt.Errorf("encode rules: %w", err)
	}
	if err := q.SetRulesForFlag(ctx, db.SetRulesForFlagParams{Rules: b, FlagID: flagID, EnvironmentID: envID}); err != nil {
		return mapErr(fmt.Errorf("rewrite rules: %w", err))
	}
	return nil
}

// checkProject compiles every environment of the project (after a change
// to flagKey that all of them serve).
func checkProject(ctx context.Context, q *db.Queries, projectID int64, flagKey string) error {
	envs, err := q.ListEnvironments(ctx, projectID)
	if err != nil {
		return fmt.Errorf("list environments: %w", err)
	}
	for _, e := range envs {
		if err := checkEnvironment(ctx, q, e.ID, flagKey, ""); err != nil {
			if ee, ok := errs.As(err); ok && ee.Kind == errs.KindInvalid {
				ee.Message = "in " + e.Key + ": " + ee.Message
			}
			return err
		}
	}
	return nil
}
