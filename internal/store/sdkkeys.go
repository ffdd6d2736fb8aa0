package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

// SDK key secrets look like wps_<43 chars> (server) or wpc_<43 chars>
// (client): 32 random bytes, base64url. Only SHA-256(secret) is stored,
// which is enough for a high-entropy secret; the first 12 characters are
// kept as a visible prefix.
const (
	serverKeyPrefix = "wps_"
	clientKeyPrefix = "wpc_"
	visiblePrefix   = 12
)

// hashSDKKey returns the stored hash of an SDK key secret.
func hashSDKKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newSecret(kind string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	p := serverKeyPrefix
	if kind == "client" {
		p = clientKeyPrefix
	}
	return p + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func toSDKKey(envKey string, k db.SdkKey) model.SDKKey {
	return model.SDKKey{ID: k.ID, Environment: envKey, Kind: k.Kind, Name: k.Name, Prefix: k.Prefix,
		CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt}
}

// CreateSDKKey creates a key and returns it with its secret, which is never
// retrievable again.
func (s *Store) CreateSDKKey(ctx context.Context, projectKey, envKey string, in model.CreateSDKKey) (model.SDKKey, error) {
	var out model.SDKKey
	if err := in.Validate(); err != nil {
		return out, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		e, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		secret, err := newSecret(in.Kind)
		if err != nil {
			return err
		}
		k, err := q.CreateSDKKey(ctx, db.CreateSDKKeyParams{EnvironmentID: e.ID, Kind: in.Kind, Name: in.Name,
			Prefix: secret[:visiblePrefix], KeyHash: hashSDKKey(secret)})
		if err != nil {
			return mapErr(fmt.Errorf("create sdk key: %w", err))
		}
		out = toSDKKey(envKey, k)
		out.Secret = secret
		return nil
	})
	return out, err
}

// ListSDKKeys lists an environment's keys (prefix only, never the secret).
func (s *Store) ListSDKKeys(ctx context.Context, projectKey, envKey string) ([]model.SDKKey, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	e, err := environment(ctx, q, p.ID, envKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListSDKKeys(ctx, e.ID)
	if err != nil {
		return nil, fmt.Errorf("list sdk keys: %w", err)
	}
	out := make([]model.SDKKey, len(rows))
	for i, r := range rows {
		out[i] = toSDKKey(envKey, r)
	}
	return out, nil
}

// RevokeSDKKey revokes a key; providers disconnect its streams when they
// see the new revision. Revoking twice is harmless.
func (s *Store) RevokeSDKKey(ctx context.Context, projectKey, envKey string, id int64) (model.SDKKey, error) {
	var out model.SDKKey
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		e, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		k, err := q.RevokeSDKKey(ctx, db.RevokeSDKKeyParams{ID: id, EnvironmentID: e.ID})
		if isNoRows(err) {
			return errs.NotFound("sdk key %d", id)
		}
		if err != nil {
			return fmt.Errorf("revoke sdk key: %w", err)
		}
		out = toSDKKey(envKey, k)
		return nil
	})
	return out, err
}
