package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/sdk/eval"
)

// What flag providers read and write: environment states (flags and keys
// read together), revisions, their own registration, and key use.

// EnvRevision is an environment's current revision.
type EnvRevision struct {
	ID       int64
	Revision int64
}

// ProviderKey is a valid SDK key of an environment (its SHA-256 only).
type ProviderKey struct {
	ID     int64
	Server bool
	Hash   []byte
}

// EnvironmentState is everything a provider serves for one environment,
// read in one snapshot: the flag set (its Revision is the environment's)
// and the keys valid at exactly that revision.
type EnvironmentState struct {
	Set  *eval.FlagSet
	Keys []ProviderKey
	// RevisedAt is when Set's revision was made (environments.revised_at).
	RevisedAt time.Time
}

// LiveProvider is a provider that heartbeated recently.
type LiveProvider struct {
	ID         string
	WebhookURL string
}

// EnvironmentState reads one environment's flags, assignments and valid
// keys in a single statement (EnvironmentSnapshot), so the keys and the
// flags belong to the same revision: a key revoked at revision n is absent
// from every state of revision n or later. One statement per reload keeps
// the database's cost per change low when many providers reload at once.
// Unknown environment: KindNotFound.
func (s *Store) EnvironmentState(ctx context.Context, envID int64) (EnvironmentState, error) {
	row, err := s.queries().EnvironmentSnapshot(ctx, envID)
	if isNoRows(err) {
		return EnvironmentState{}, fmt.Errorf("load environment %d: %w", envID, errs.NotFound("environment %d", envID))
	}
	if err != nil {
		return EnvironmentState{}, fmt.Errorf("load environment %d: %w", envID, err)
	}
	var (
		flags    []db.SnapshotFlagsRow
		assigns  []db.SnapshotAssignmentsRow
		segments []db.SnapshotSegmentsRow
		keys     []db.ActiveSDKKeysOfEnvironmentRow
	)
	for _, part := range []struct {
		name string
		raw  []byte
		dst  any
	}{{"flags", row.Flags, &flags}, {"assignments", row.Assignments, &assigns}, {"segments", row.Segments, &segments}, {"sdk keys", row.SdkKeys, &keys}} {
		if err := json.Unmarshal(part.raw, part.dst); err != nil {
			return EnvironmentState{}, fmt.Errorf("load environment %d: decode %s: %w", envID, part.name, err)
		}
	}
	env := db.GetEnvironmentRevisionRow{ID: row.ID, Key: row.Key, ProjectKey: row.ProjectKey, Revision: row.Revision, RevisedAt: row.RevisedAt}
	set, err := flagset.Build(env, flags, assigns, segments)
	if err != nil {
		return EnvironmentState{}, fmt.Errorf("load environment %d: %w", envID, err)
	}
	out := EnvironmentState{Set: set, RevisedAt: row.RevisedAt, Keys: make([]ProviderKey, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, ProviderKey{ID: k.ID, Server: k.Kind == "server", Hash: k.KeyHash})
	}
	return out, nil
}

// EnvironmentRevisions lists every environment's current revision.
func (s *Store) EnvironmentRevisions(ctx context.Context) ([]EnvRevision, error) {
	rows, err := s.queries().ListEnvironmentRevisions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environment revisions: %w", err)
	}
	out := make([]EnvRevision, len(rows))
	for i, r := range rows {
		out[i] = EnvRevision{ID: r.ID, Revision: r.Revision}
	}
	return out, nil
}

// HeartbeatProvider inserts or refreshes a provider's registration.
func (s *Store) HeartbeatProvider(ctx context.Context, id, webhookURL string) error {
	q := s.queries()
	n, err := q.HeartbeatProvider(ctx, id)
	if err == nil && n == 0 {
		err = q.RegisterProvider(ctx, db.RegisterProviderParams{ID: id, WebhookUrl: webhookURL})
	}
	if err != nil {
		return fmt.Errorf("register provider: %w", err)
	}
	return nil
}

// DeleteProvider removes a provider's registration (at its shutdown).
func (s *Store) DeleteProvider(ctx context.Context, id string) error {
	return s.queries().DeleteProvider(ctx, id)
}

// DeleteStaleProviders removes registrations not refreshed for 10 minutes.
func (s *Store) DeleteStaleProviders(ctx context.Context) error {
	return s.queries().DeleteStaleProviders(ctx)
}

// TouchSDKKeys records that the keys were used.
func (s *Store) TouchSDKKeys(ctx context.Context, ids []int64) error {
	return s.queries().TouchSDKKeys(ctx, ids)
}

// ProviderWebhook is what a provider webhook job needs: its live provider and its
// environment's current revision.
type ProviderWebhook struct {
	Provider LiveProvider
	Revision int64
}

// ProviderWebhook reads, in one statement, provider id's webhook URL and
// environment envID's revision. KindNotFound names which is gone: the
// provider stopped heartbeating (Field "provider") or the environment was
// deleted (Field "environment").
func (s *Store) ProviderWebhook(ctx context.Context, id string, envID int64) (ProviderWebhook, error) {
	r, err := s.queries().WebhookTarget(ctx, db.WebhookTargetParams{ProviderID: id, EnvironmentID: envID})
	if err != nil {
		return ProviderWebhook{}, fmt.Errorf("webhook target: %w", err)
	}
	if r.WebhookUrl == "" {
		return ProviderWebhook{}, &errs.Error{Kind: errs.KindNotFound, Code: "not_found", Field: "provider", Message: fmt.Sprintf("provider %s is not live", id)}
	}
	if r.Revision < 0 {
		return ProviderWebhook{}, &errs.Error{Kind: errs.KindNotFound, Code: "not_found", Field: "environment", Message: fmt.Sprintf("environment %d not found", envID)}
	}
	return ProviderWebhook{Provider: LiveProvider{ID: id, WebhookURL: r.WebhookUrl}, Revision: r.Revision}, nil
}

// ChangedInTx returns, inside a changing transaction (a ChangeHook), the
// environments whose revision the triggers bumped (with their new
// revision) and the live providers to tell.
func ChangedInTx(ctx context.Context, tx pgx.Tx) ([]EnvRevision, []LiveProvider, error) {
	var changed string
	if err := tx.QueryRow(ctx, "SELECT coalesce(current_setting('waypost.changed_environments', true), '')").Scan(&changed); err != nil {
		return nil, nil, fmt.Errorf("read changed environments: %w", err)
	}
	ids := parseIDs(changed)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	q := db.New(tx)
	provs, err := q.ListLiveProviders(ctx)
	if err != nil || len(provs) == 0 {
		return nil, nil, err
	}
	revs, err := q.RevisionsOf(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("read revisions: %w", err)
	}
	envs := make([]EnvRevision, len(revs))
	for i, r := range revs {
		envs[i] = EnvRevision{ID: r.ID, Revision: r.Revision}
	}
	out := make([]LiveProvider, len(provs))
	for i, p := range provs {
		out[i] = LiveProvider{ID: p.ID, WebhookURL: p.WebhookUrl}
	}
	return envs, out, nil
}

func parseIDs(s string) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, part := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err == nil && id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
