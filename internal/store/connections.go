package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/secret"
)

func toConnection(c db.EventsConnection) model.Connection {
	out := model.Connection{Key: c.Key, Name: c.Name, Kind: c.Kind, HasPassword: len(c.PasswordCiphertext) > 0,
		ExposuresQuery: c.ExposuresQuery, StatementTimeoutMS: int(c.StatementTimeoutMs), IsDefault: c.IsDefault,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.Kind != "builtin" {
		out.Host, out.Port, out.Database, out.User, out.SSLMode = c.Host, int(c.Port), c.Database, c.User, c.SslMode
	}
	return out
}

func connection(ctx context.Context, q *db.Queries, projectID int64, key string) (db.EventsConnection, error) {
	c, err := q.GetConnection(ctx, db.GetConnectionParams{ProjectID: projectID, Key: key})
	if isNoRows(err) {
		return c, errs.NotFound("connection %q", key)
	}
	if err != nil {
		return c, fmt.Errorf("get connection %q: %w", key, err)
	}
	return c, nil
}

// target decrypts a stored connection into an eventsdb.Target.
func (s *Store) target(c db.EventsConnection) (eventsdb.Target, error) {
	t := eventsdb.Target{ID: c.ID, Version: c.Version, Builtin: c.Kind == "builtin", Kind: c.Kind, Host: c.Host, Port: int(c.Port),
		Database: c.Database, User: c.User, SSLMode: c.SslMode, ExposuresQuery: c.ExposuresQuery,
		StatementTimeout: time.Duration(c.StatementTimeoutMs) * time.Millisecond}
	if len(c.PasswordCiphertext) > 0 {
		p, err := s.box.Open(c.PasswordCiphertext)
		if errors.Is(err, secret.ErrNoKey) {
			return t, &errs.Error{Kind: errs.KindInvalid, Code: "no_secret_key", Field: "password",
				Message: "connection " + c.Key + " has a stored password but " + secret.ErrNoKey.Error(), Err: err}
		}
		if err != nil {
			return t, &errs.Error{Kind: errs.KindInvalid, Code: "undecryptable", Field: "password",
				Message: "connection " + c.Key + ": " + err.Error() + "; save the connection again with its password", Err: err}
		}
		t.Password = string(p)
	}
	return t, nil
}

// ConnectionTarget returns where the events connection with this id is,
// with its password decrypted (for workers; never log the password).
func (s *Store) ConnectionTarget(ctx context.Context, id int64) (eventsdb.Target, error) {
	c, err := s.queries().GetConnectionByID(ctx, id)
	if err != nil {
		return eventsdb.Target{}, fmt.Errorf("get connection %d: %w", id, err)
	}
	return s.target(c)
}

// ConnectionTargetByKey is ConnectionTarget by project and key ("" = default).
func (s *Store) ConnectionTargetByKey(ctx context.Context, projectKey, key string) (eventsdb.Target, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return eventsdb.Target{}, err
	}
	var c db.EventsConnection
	if key == "" {
		c, err = q.GetDefaultConnection(ctx, p.ID)
		if err != nil {
			return eventsdb.Target{}, fmt.Errorf("default connection: %w", err)
		}
	} else if c, err = connection(ctx, q, p.ID, key); err != nil {
		return eventsdb.Target{}, err
	}
	return s.target(c)
}

// ListConnections returns a project's events connections (no passwords).
func (s *Store) ListConnections(ctx context.Context, projectKey string) ([]model.Connection, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListConnections(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := make([]model.Connection, len(rows))
	for i, r := range rows {
		out[i] = toConnection(r)
	}
	return out, nil
}

// GetConnection returns one events connection (no password).
func (s *Store) GetConnection(ctx context.Context, projectKey, key string) (model.Connection, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Connection{}, err
	}
	c, err := connection(ctx, q, p.ID, key)
	if err != nil {
		return model.Connection{}, err
	}
	return toConnection(c), nil
}

func (s *Store) seal(password *string) ([]byte, error) {
	if password == nil || *password == "" {
		return nil, nil
	}
	c, err := s.box.Seal([]byte(*password))
	if errors.Is(err, secret.ErrNoKey) {
		return nil, &errs.Error{Kind: errs.KindInvalid, Code: "no_secret_key", Field: "password",
			Message: "Waypost refuses to store a password without an encryption key: " + secret.ErrNoKey.Error()}
	}
	return c, err
}

// CreateConnection tests the connection (connect + exposures query
// columns) and stores it, the password encrypted.
func (s *Store) CreateConnection(ctx context.Context, projectKey string, in model.SaveConnection) (model.Connection, error) {
	if err := in.Validate(); err != nil {
		return model.Connection{}, err
	}
	cipher, err := s.seal(in.Password)
	if err != nil {
		return model.Connection{}, err
	}
	t := eventsdb.Target{Kind: in.Kind, Host: in.Host, Port: in.Port, Database: in.Database, User: in.User, SSLMode: in.SSLMode,
		ExposuresQuery: in.ExposuresQuery, StatementTimeout: time.Duration(in.StatementTimeoutMS) * time.Millisecond}
	if in.Password != nil {
		t.Password = *in.Password
	}
	if _, err := eventsdb.Test(ctx, t, s.builtin); err != nil {
		return model.Connection{}, err
	}
	var out model.Connection
	err = s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		c, err := q.CreateConnection(ctx, db.CreateConnectionParams{ProjectID: p.ID, Key: in.Key, Name: in.Name, Kind: in.Kind,
			Host: in.Host, Port: int32(in.Port), Database: in.Database, User: in.User, PasswordCiphertext: cipher,
			SslMode: in.SSLMode, ExposuresQuery: in.ExposuresQuery, StatementTimeoutMs: int32(in.StatementTimeoutMS)})
		if err != nil {
			return mapErr(fmt.Errorf("create connection: %w", err))
		}
		if in.IsDefault {
			if c, err = setDefault(ctx, q, c); err != nil {
				return err
			}
		}
		out = toConnection(c)
		return nil
	})
	return out, err
}

func setDefault(ctx context.Context, q *db.Queries, c db.EventsConnection) (db.EventsConnection, error) {
	if err := q.ClearDefaultConnection(ctx, c.ProjectID); err != nil {
		return c, fmt.Errorf("clear default connection: %w", err)
	}
	if err := q.SetDefaultConnection(ctx, c.ID); err != nil {
		return c, fmt.Errorf("set default connection: %w", err)
	}
	return q.GetConnectionByID(ctx, c.ID)
}

// UpdateConnection replaces a connection's settings after testing them. A
// nil password keeps the stored one. The built-in connection only takes
// statement_timeout_ms and is_default (other fields are ignored).
func (s *Store) UpdateConnection(ctx context.Context, projectKey, key string, in model.SaveConnection) (model.Connection, error) {
	if key == "builtin" {
		return s.updateBuiltin(ctx, projectKey, in)
	}
	in.Key = key
	if err := in.Validate(); err != nil {
		return model.Connection{}, err
	}
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Connection{}, err
	}
	cur, err := connection(ctx, q, p.ID, key)
	if err != nil {
		return model.Connection{}, err
	}
	cipher := cur.PasswordCiphertext
	t := eventsdb.Target{Kind: in.Kind, Host: in.Host, Port: in.Port, Database: in.Database, User: in.User, SSLMode: in.SSLMode,
		ExposuresQuery: in.ExposuresQuery, StatementTimeout: time.Duration(in.StatementTimeoutMS) * time.Millisecond}
	if in.Password != nil {
		if cipher, err = s.seal(in.Password); err != nil {
			return model.Connection{}, err
		}
		t.Password = *in.Password
	} else if old, err := s.target(cur); err != nil {
		return model.Connection{}, err
	} else {
		t.Password = old.Password
	}
	if _, err := eventsdb.Test(ctx, t, s.builtin); err != nil {
		return model.Connection{}, err
	}
	var out model.Connection
	err = s.change(ctx, func(q *db.Queries) error {
		c, err := q.UpdateConnection(ctx, db.UpdateConnectionParams{ProjectID: p.ID, Key: key, Name: in.Name, Kind: &in.Kind,
			Host: in.Host, Port: int32(in.Port), Database: in.Database, User: in.User, PasswordCiphertext: cipher,
			SslMode: in.SSLMode, ExposuresQuery: in.ExposuresQuery, StatementTimeoutMs: int32(in.StatementTimeoutMS)})
		if isNoRows(err) {
			return errs.NotFound("connection %q", key)
		}
		if err != nil {
			return mapErr(fmt.Errorf("update connection: %w", err))
		}
		if in.IsDefault && !c.IsDefault {
			if c, err = setDefault(ctx, q, c); err != nil {
				return err
			}
		}
		out = toConnection(c)
		return nil
	})
	return out, err
}

func (s *Store) updateBuiltin(ctx context.Context, projectKey string, in model.SaveConnection) (model.Connection, error) {
	if err := checkBuiltinTimeout(&in.StatementTimeoutMS); err != nil {
		return model.Connection{}, err
	}
	var out model.Connection
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		c, err := connection(ctx, q, p.ID, "builtin")
		if err != nil {
			return err
		}
		c, err = q.UpdateConnection(ctx, db.UpdateConnectionParams{ProjectID: p.ID, Key: c.Key, Name: c.Name,
			Host: c.Host, Port: c.Port, Database: c.Database, User: c.User, SslMode: c.SslMode,
			ExposuresQuery: c.ExposuresQuery, StatementTimeoutMs: int32(in.StatementTimeoutMS)})
		if err != nil {
			return mapErr(fmt.Errorf("update connection: %w", err))
		}
		if in.IsDefault && !c.IsDefault {
			if c, err = setDefault(ctx, q, c); err != nil {
				return err
			}
		}
		out = toConnection(c)
		return nil
	})
	return out, err
}

func checkBuiltinTimeout(ms *int) error {
	r := model.UpdateBuiltinConnection{StatementTimeoutMS: *ms}
	if r.StatementTimeoutMS == 0 {
		r.StatementTimeoutMS = model.DefaultStatementTimeMS
	}
	if r.StatementTimeoutMS < model.MinStatementTimeoutMS || r.StatementTimeoutMS > model.MaxStatementTimeoutMS {
		return errs.Invalid("statement_timeout_ms", "must be from %d to %d milliseconds", model.MinStatementTimeoutMS, model.MaxStatementTimeoutMS)
	}
	*ms = r.StatementTimeoutMS
	return nil
}

// DeleteConnection removes a connection that no metric or experiment uses.
// The built-in and the default connection cannot be deleted.
func (s *Store) DeleteConnection(ctx context.Context, projectKey, key string) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		c, err := connection(ctx, q, p.ID, key)
		if err != nil {
			return err
		}
		if c.Kind == "builtin" {
			return errs.Invalid("", "the built-in events store cannot be deleted")
		}
		if c.IsDefault {
			return errs.Invalid("", "the default connection cannot be deleted; make another connection the default first")
		}
		used, err := q.ConnectionInUse(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("connection in use: %w", err)
		}
		if used {
			return &errs.Error{Kind: errs.KindConflict, Code: "in_use", Message: "connection " + key + " is used by metrics or experiments"}
		}
		_, err = q.DeleteConnection(ctx, c.ID)
		return err
	})
}

// TestConnection connects to a saved connection, refuses a role too
// powerful for user SQL, checks its exposures query again, and returns a
// warning for each dangerous privilege the role has.
func (s *Store) TestConnection(ctx context.Context, projectKey, key string) ([]string, error) {
	t, err := s.ConnectionTargetByKey(ctx, projectKey, key)
	if err != nil {
		return nil, err
	}
	return eventsdb.Test(ctx, t, s.builtin)
}
