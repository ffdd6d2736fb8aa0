package store

import (
	"context"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

func toProject(p db.Project) model.Project {
	return model.Project{Key: p.Key, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func toEnvironment(e db.Environment) model.Environment {
	return model.Environment{Key: e.Key, Name: e.Name, Revision: e.Revision, Protected: e.Protected, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// ListProjects returns every project, by key.
func (s *Store) ListProjects(ctx context.Context) ([]model.Project, error) {
	rows, err := s.queries().ListProjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out := make([]model.Project, len(rows))
	for i, r := range rows {
		out[i] = toProject(r)
	}
	return out, nil
}

func project(ctx context.Context, q *db.Queries, key string) (db.Project, error) {
	p, err := q.GetProject(ctx, key)
	if isNoRows(err) {
		return p, errs.NotFound("project %q", key)
	}
	if err != nil {
		return p, fmt.Errorf("get project %q: %w", key, err)
	}
	return p, nil
}

func environment(ctx context.Context, q *db.Queries, projectID int64, key string) (db.Environment, error) {
	e, err := q.GetEnvironment(ctx, db.GetEnvironmentParams{ProjectID: projectID, Key: key})
	if isNoRows(err) {
		return e, errs.NotFound("environment %q", key)
	}
	if err != nil {
		return e, fmt.Errorf("get environment %q: %w", key, err)
	}
	return e, nil
}

// GetProject returns one project.
func (s *Store) GetProject(ctx context.Context, key string) (model.Project, error) {
	p, err := project(ctx, s.queries(), key)
	return toProject(p), err
}

// CreateProject creates a project with the environments production and
// development, as a fresh install has.
func (s *Store) CreateProject(ctx context.Context, in model.CreateProject) (model.Project, error) {
	var out model.Project
	if err := in.Validate(); err != nil {
		return out, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := q.CreateProject(ctx, db.CreateProjectParams{Key: in.Key, Name: in.Name})
		if err != nil {
			return mapErr(fmt.Errorf("create project: %w", err))
		}
		for _, e := range [][2]string{{"production", "Production"}, {"development", "Development"}} {
			if _, err := q.CreateEnvironment(ctx, db.CreateEnvironmentParams{ProjectID: p.ID, Key: e[0], Name: e[1]}); err != nil {
				return fmt.Errorf("create environment %s: %w", e[0], err)
			}
		}
		out = toProject(p)
		return nil
	})
	return out, err
}

// RenameProject changes a project's display name.
func (s *Store) RenameProject(ctx context.Context, key string, in model.Rename) (model.Project, error) {
	if err := in.Validate(); err != nil {
		return model.Project{}, err
	}
	p, err := s.queries().RenameProject(ctx, db.RenameProjectParams{Key: key, Name: in.Name})
	if isNoRows(err) {
		return model.Project{}, errs.NotFound("project %q", key)
	}
	if err != nil {
		return model.Project{}, mapErr(fmt.Errorf("rename project: %w", err))
	}
	return toProject(p), nil
}

// ListEnvironments returns a project's environments in creation order.
func (s *Store) ListEnvironments(ctx context.Context, projectKey string) ([]model.Environment, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListEnvironments(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := make([]model.Environment, len(rows))
	for i, r := range rows {
		out[i] = toEnvironment(r)
	}
	return out, nil
}

// CreateEnvironment adds an environment; every existing flag gets an (off)
// state in it, by trigger.
func (s *Store) CreateEnvironment(ctx context.Context, projectKey string, in model.CreateEnvironment) (model.Environment, error) {
	var out model.Environment
	if err := in.Validate(); err != nil {
		return out, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		e, err := q.CreateEnvironment(ctx, db.CreateEnvironmentParams{ProjectID: p.ID, Key: in.Key, Name: in.Name})
		if err != nil {
			return mapErr(fmt.Errorf("create environment: %w", err))
		}
		out = toEnvironment(e)
		return nil
	})
	return out, err
}

// RenameEnvironment changes an environment's display name.
func (s *Store) RenameEnvironment(ctx context.Context, projectKey, envKey string, in model.Rename) (model.Environment, error) {
	if err := in.Validate(); err != nil {
		return model.Environment{}, err
	}
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Environment{}, err
	}
	e, err := q.RenameEnvironment(ctx, db.RenameEnvironmentParams{ProjectID: p.ID, Key: envKey, Name: in.Name})
	if isNoRows(err) {
		return model.Environment{}, errs.NotFound("environment %q", envKey)
	}
	if err != nil {
		return model.Environment{}, mapErr(fmt.Errorf("rename environment: %w", err))
	}
	return toEnvironment(e), nil
}
