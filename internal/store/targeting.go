package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// checkEnvironment compiles environment envID's flag set as the provider
// will serve it, inside the caller's transaction (after its change). A
// set SDKs could not compile is refused with a 422 naming the flag or
// segment, the rule and the clause; the caller's transaction rolls back,
// so nothing is half-written.
func checkEnvironment(ctx context.Context, q *db.Queries, envID int64, editedFlag, editedSegment string) error {
	set, err := flagset.Read(ctx, q, envID)
	if err != nil {
		return err
	}
	if _, err := eval.Compile(set); err != nil {
		var ve *eval.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("compile environment %d: %w", envID, err)
		}
		if editedFlag != "" && ve.Field == "prerequisites" && strings.HasPrefix(ve.Msg, "cycle") {
			return errs.Invalid("prerequisites", "%s", ve.Msg) // the cycle runs through the edited flag
		}
		if (editedFlag != "" && ve.Flag == editedFlag && ve.Segment == "") || (editedSegment != "" && ve.Segment == editedSegment) {
			return errs.Invalid(refineField(ve.Field, ve.Msg), "%s", ve.Msg)
		}
		return errs.Invalid("", "%s", ve.Error())
	}
	return nil
}

// UpdateTargeting replaces a flag's rules and prerequisites in one
// environment. Changes of one environment are serialised (LockEnvironment)
// and the whole environment is compiled before commit, so unknown
// operators, bad values, invalid regexes or versions, unknown variants or
// segments and prerequisite cycles are refused with a 422.
func (s *Store) UpdateTargeting(ctx context.Context, projectKey, flagKey, envKey string, in model.UpdateTargeting) (model.FlagTargeting, error) {
	var out model.FlagTargeting
	if err := in.Validate(); err != nil {
		return out, err
	}
	rules, err := json.Marshal(in.Rules)
	if err != nil {
		return out, fmt.Errorf("encode rules: %w", err)
	}
	prereqs, err := json.Marshal(in.Prerequisites)
	if err != nil {
		return out, fmt.Errorf("encode prerequisites: %w", err)
	}
	err = s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
		if err != nil {
			return err
		}
		if err := lockEnvironment(ctx, q, fe.env.ID); err != nil {
			return err
		}
		row, err := q.UpdateFlagTargeting(ctx, db.UpdateFlagTargetingParams{Rules: rules, Prerequisites: prereqs,
			FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, ExpectedVersion: in.Version})
		if err != nil {
			if isNoRows(err) {
				cur, cerr := q.GetFlagTargeting(ctx, db.GetFlagTargetingParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
				if cerr != nil {
					return fmt.Errorf("get targeting: %w", cerr)
				}
				return errs.VersionConflict(fmt.Sprintf("flag %s in %s", flagKey, envKey), map[string]int64{"version": cur.Version})
			}
			return mapErr(fmt.Errorf("update targeting: %w", err))
		}
		if err := checkEnvironment(ctx, q, fe.env.ID, flagKey, ""); err != nil {
			return err
		}
		out = model.FlagTargeting{Rules: in.Rules, Prerequisites: in.Prerequisites, Version: row.Version}
		return nil
	})
	return out, err
}

// CreateSegment adds a segment to one environment, compiling the
// environment before commit.
func (s *Store) CreateSegment(ctx context.Context, projectKey, envKey string, in model.SaveSegment) (model.Segment, error) {
	var out model.Segment
	if err := in.Validate(true); err != nil {
		return out, err
	}
	rules, err := json.Marshal(in.Rules)
	if err != nil {
		return out, fmt.Errorf("encode rules: %w", err)
	}
	err = s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		env, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		if err := lockEnvironment(ctx, q, env.ID); err != nil {
			return err
		}
		row, err := q.CreateSegment(ctx, db.CreateSegmentParams{ProjectID: p.ID, EnvironmentID: env.ID, Key: in.Key,
			Name: in.Name, Description: in.Description, Included: in.Included, Excluded: in.Excluded, Rules: rules})
		if err != nil {
			return mapErr(fmt.Errorf("create segment: %w", err))
		}
		if err := checkEnvironment(ctx, q, env.ID, "", in.Key); err != nil {
			return err
		}
		out = model.Segment{Key: row.Key, Name: row.Name, Description: row.Description, Included: row.Included,
			Excluded: row.Excluded, Rules: in.Rules, Version: row.Version, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
		return nil
	})
	return out, err
}

// DeleteSegment removes a segment; it is refused (409 in_use, naming
// them) while a flag rule or an experiment audience of the environment
// still uses it.
func (s *Store) DeleteSegment(ctx context.Context, projectKey, envKey, segmentKey string) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		env, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		if err := lockEnvironment(ctx, q, env.ID); err != nil {
			return err
		}
		if err := segmentInUse(ctx, q, env.ID, segmentKey); err != nil {
			return err
		}
		n, err := q.DeleteSegment(ctx, db.DeleteSegmentParams{EnvironmentID: env.ID, Key: segmentKey})
		if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		if n == 0 {
			return errs.NotFound("segment %q in %s", segmentKey, envKey)
		}
		return checkEnvironment(ctx, q, env.ID, "", "")
	})
}

// clauseField matches a field naming a clause ("rules[1].clauses[0]",
// "experiment.audience[2]"), and valueRef the part of a clause error
// naming one value ("values[3]: ...").
var (
	clauseField = regexp.MustCompile(`(\.clauses|audience)\[\d+\]$`)
	valueRef    = regexp.MustCompile(`(?:^|: )(values\[\d+\])`)
)

// refineField makes a compiler error's field name the clause part at
// fault: "rules[1].clauses[0]" becomes "rules[1].clauses[0].values[2]"
// for a bad value, ".values" for a wrong number of values, ".op" for an
// unknown operator and ".attribute" for a bad attribute name.
func refineField(field, msg string) string {
	if !clauseField.MatchString(field) {
		return field
	}
	if m := valueRef.FindStringSubmatch(msg); m != nil {
		return field + "." + m[1]
	}
	switch {
	case strings.Contains(msg, "unknown operator") || strings.Contains(msg, "cannot use in_segment"):
		return field + ".op"
	case strings.Contains(msg, "attribute"):
		return field + ".attribute"
	case strings.Contains(msg, "values") || strings.Contains(msg, "takes exactly one value"):
		return field + ".values"
	}
	return field
}

// GetTargeting returns a flag's rules and prerequisites in one environment.
func (s *Store) GetTargeting(ctx context.Context, projectKey, flagKey, envKey string) (model.FlagTargeting, error) {
	var out model.FlagTargeting
	q := s.queries()
	fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
	if err != nil {
		return out, err
	}
	row, err := q.GetFlagTargeting(ctx, db.GetFlagTargetingParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
	if isNoRows(err) {
		return out, errs.NotFound("state of flag %q in %s", flagKey, envKey)
	}
	if err != nil {
		return out, fmt.Errorf("get targeting: %w", err)
	}
	return toTargeting(row.Rules, row.Prerequisites, row.Version)
}

func toTargeting(rules, prereqs json.RawMessage, version int64) (model.FlagTargeting, error) {
	out := model.FlagTargeting{Rules: []eval.Rule{}, Prerequisites: []eval.Prerequisite{}, Version: version}
	if err := json.Unmarshal(rules, &out.Rules); err != nil {
		return out, fmt.Errorf("decode rules: %w", err)
	}
	if err := json.Unmarshal(prereqs, &out.Prerequisites); err != nil {
		return out, fmt.Errorf("decode prerequisites: %w", err)
	}
	return out, nil
}

func decodeRules(raw json.RawMessage) ([]eval.Rule, error) {
	rules := []eval.Rule{}
	if err := json.Unmarshal(raw, &rules); err != nil {
		return nil, fmt.Errorf("decode rules: %w", err)
	}
	return rules, nil
}

func projectEnv(ctx context.Context, q *db.Queries, projectKey, envKey string) (db.Project, db.Environment, error) {
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return p, db.Environment{}, err
	}
	env, err := environment(ctx, q, p.ID, envKey)
	return p, env, err
}

// ListSegments returns an environment's segments (list sizes, not lists).
func (s *Store) ListSegments(ctx context.Context, projectKey, envKey string) ([]model.SegmentSummary, error) {
	q := s.queries()
	_, env, err := projectEnv(ctx, q, projectKey, envKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListSegments(ctx, env.ID)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	out := make([]model.SegmentSummary, 0, len(rows))
	for _, r := range rows {
		rules, err := decodeRules(r.Rules)
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", r.Key, err)
		}
		out = append(out, model.SegmentSummary{Key: r.Key, Name: r.Name, Description: r.Description,
			IncludedCount: int(r.IncludedCount), ExcludedCount: int(r.ExcludedCount), Rules: rules,
			Version: r.Version, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}

func toSegment(r db.Segment) (model.Segment, error) {
	rules, err := decodeRules(r.Rules)
	if err != nil {
		return model.Segment{}, fmt.Errorf("segment %q: %w", r.Key, err)
	}
	return model.Segment{Key: r.Key, Name: r.Name, Description: r.Description, Included: r.Included,
		Excluded: r.Excluded, Rules: rules, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// GetSegment returns one segment with its lists.
func (s *Store) GetSegment(ctx context.Context, projectKey, envKey, segmentKey string) (model.Segment, error) {
	q := s.queries()
	_, env, err := projectEnv(ctx, q, projectKey, envKey)
	if err != nil {
		return model.Segment{}, err
	}
	r, err := q.GetSegment(ctx, db.GetSegmentParams{EnvironmentID: env.ID, Key: segmentKey})
	if isNoRows(err) {
		return model.Segment{}, errs.NotFound("segment %q in %s", segmentKey, envKey)
	}
	if err != nil {
		return model.Segment{}, fmt.Errorf("get segment: %w", err)
	}
	return toSegment(r)
}

// UpdateSegment replaces a segment's name, description, lists and rules
// (its key stays), if in.Version is absent or current, compiling the
// environment before commit.
func (s *Store) UpdateSegment(ctx context.Context, projectKey, envKey, segmentKey string, in model.SaveSegment) (model.Segment, error) {
	var out model.Segment
	in.Key = segmentKey
	if in.Name == "" {
		in.Name = segmentKey
	}
	if err := in.Validate(false); err != nil {
		return out, err
	}
	rules, err := json.Marshal(in.Rules)
	if err != nil {
		return out, fmt.Errorf("encode rules: %w", err)
	}
	err = s.change(ctx, func(q *db.Queries) error {
		_, env, err := projectEnv(ctx, q, projectKey, envKey)
		if err != nil {
			return err
		}
		if err := lockEnvironment(ctx, q, env.ID); err != nil {
			return err
		}
		row, err := q.UpdateSegment(ctx, db.UpdateSegmentParams{Name: in.Name, Description: in.Description,
			Included: in.Included, Excluded: in.Excluded, Rules: rules, EnvironmentID: env.ID, Key: segmentKey,
			ExpectedVersion: in.Version})
		if isNoRows(err) {
			cur, cerr := q.GetSegment(ctx, db.GetSegmentParams{EnvironmentID: env.ID, Key: segmentKey})
			if isNoRows(cerr) {
				return errs.NotFound("segment %q in %s", segmentKey, envKey)
			}
			if cerr != nil {
				return fmt.Errorf("get segment: %w", cerr)
			}
			return errs.VersionConflict(fmt.Sprintf("segment %s in %s", segmentKey, envKey), map[string]int64{"version": cur.Version})
		}
		if err != nil {
			return mapErr(fmt.Errorf("update segment: %w", err))
		}
		if err := checkEnvironment(ctx, q, env.ID, "", segmentKey); err != nil {
			return err
		}
		out, err = toSegment(row)
		return err
	})
	return out, err
}

// segmentInUse is the 409 for deleting a segment that rules or audiences
// still use, naming them.
func segmentInUse(ctx context.Context, q *db.Queries, envID int64, segmentKey string) error {
	users, err := q.SegmentUsers(ctx, db.SegmentUsersParams{EnvironmentID: envID, Segment: segmentKey})
	if err != nil {
		return fmt.Errorf("segment users: %w", err)
	}
	if len(users) == 0 {
		return nil
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = fmt.Sprintf("%s %q", u.Kind, u.Key)
	}
	return &errs.Error{Kind: errs.KindConflict, Code: "in_use", Field: "segment",
		Message: fmt.Sprintf("segment %q is used by %s; remove it from their rules or audiences first", segmentKey, strings.Join(names, ", "))}
}

// Evaluate evaluates one flag for a context on the environment's current
// flag set, exactly as a provider serving that set answers OFREP (the
// dashboard's "test a context"). A flag the project has but does not
// serve (archived) answers reason ERROR, FLAG_NOT_FOUND, as the provider
// would; a flag the project does not have is a 404.
func (s *Store) Evaluate(ctx context.Context, projectKey, envKey string, in model.EvaluateContext) (model.Evaluation, error) {
	out := model.Evaluation{Flag: in.Flag}
	if err := in.Validate(); err != nil {
		return out, err
	}
	var set *eval.FlagSet
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := db.New(tx)
		p, env, err := projectEnv(ctx, q, projectKey, envKey)
		if err != nil {
			return err
		}
		if _, err := flagRow(ctx, q, p.ID, in.Flag); err != nil {
			return err
		}
		set, err = flagset.Read(ctx, q, env.ID)
		return err
	})
	if err != nil {
		return out, err
	}
	snap, err := eval.Compile(set)
	if err != nil {
		return out, errs.Invalid("", "the environment's flag set does not compile (SDKs keep their previous set): %v", err)
	}
	ectx := eval.Context{}
	if len(in.Context) > 0 {
		ectx.Attributes = make(map[string]any, len(in.Context))
		for k, v := range in.Context {
			if k == eval.TargetingKeyAttribute {
				ectx.TargetingKey, _ = v.(string)
				continue
			}
			ectx.Attributes[k] = v
		}
	}
	res := snap.EvaluateContext(in.Flag, &ectx)
	out.Reason, out.ErrorCode, out.Variant, out.RuleID = res.Reason, res.ErrorCode, res.Variant, res.RuleID
	out.ExperimentKey, out.FlagVersion, out.Revision = res.ExperimentKey, res.FlagVersion, set.Revision
	if v, ok := res.Value(); ok {
		if v.Kind == eval.KindJSON && (len(v.Raw) == 0 || v.Raw[0] != '{') {
			// As OFREP: its object type cannot carry a non-object.
			return model.Evaluation{Flag: in.Flag, Reason: eval.ReasonError, ErrorCode: "GENERAL",
				FlagVersion: res.FlagVersion, Revision: set.Revision}, nil
		}
		out.Value = json.RawMessage(v.Raw)
	}
	return out, nil
}

// AttributeSource is one attribute name the environment's rules,
// segments or experiment audiences use, with example values.
type AttributeSource struct {
	Name     string
	Seen     string // "rules" (flag rules and audiences) or "segments"
	Examples []string
}

// TargetingAttributes lists the attribute names used by the environment's
// flag rules (clauses and bucketBy), segment rules and experiment
// audiences, with up to maxExamples example values each (from the
// clauses' string and number values), ordered by name.
func (s *Store) TargetingAttributes(ctx context.Context, projectKey, envKey string, maxExamples int) ([]AttributeSource, error) {
	q := s.queries()
	_, env, err := projectEnv(ctx, q, projectKey, envKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.EnvironmentTargetingSources(ctx, env.ID)
	if err != nil {
		return nil, fmt.Errorf("targeting sources: %w", err)
	}
	byName := map[string]*AttributeSource{}
	add := func(name, seen string, values []json.RawMessage) {
		if name == "" || name == eval.TargetingKeyAttribute {
			return
		}
		a := byName[name]
		if a == nil {
			a = &AttributeSource{Name: name, Seen: seen, Examples: []string{}}
			byName[name] = a
		}
		for _, raw := range values {
			if len(a.Examples) >= maxExamples {
				break
			}
			var v any
			if json.Unmarshal(raw, &v) != nil {
				continue
			}
			ex := ""
			switch x := v.(type) {
			case string:
				ex = x
			case float64, bool:
				ex = string(raw)
			default:
				continue
			}
			if ex != "" && len(ex) <= 200 && !slices.Contains(a.Examples, ex) {
				a.Examples = append(a.Examples, ex)
			}
		}
	}
	for _, r := range rows {
		seen := r.Kind
		if seen == "audience" {
			seen = "rules"
		}
		if r.Kind == "audience" {
			var cs []eval.Clause
			if err := json.Unmarshal(r.Source, &cs); err != nil {
				return nil, fmt.Errorf("decode audience: %w", err)
			}
			for _, c := range cs {
				if c.Op != eval.OpInSegment {
					add(c.Attribute, seen, c.Values)
				}
			}
			continue
		}
		rules, err := decodeRules(r.Source)
		if err != nil {
			return nil, err
		}
		for _, rule := range rules {
			add(rule.BucketBy, seen, nil)
			for _, c := range rule.Clauses {
				if c.Op != eval.OpInSegment {
					add(c.Attribute, seen, c.Values)
				}
			}
		}
	}
	out := make([]AttributeSource, 0, len(byName))
	for _, a := range byName {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b AttributeSource) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
