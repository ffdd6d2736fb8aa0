package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// page is the envelope of every list response; next_cursor is empty on
// the last page.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// changeCount answers batch changes: how many rows actually changed.
type changeCount struct {
	Changed int64 `json:"changed"`
}

var (
	pNone    = []string{}
	pEnv     = []string{"project", "environment"}
	pFlag    = []string{"project", "flag"}
	pFlagEnv = []string{"project", "flag", "environment"}
)

// ---- projects and environments ----

func (s *Server) listProjects() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		ps, err := s.store.ListProjects(r.Context())
		if err != nil {
			return nil, err
		}
		roles, err := s.store.ProjectRoles(r.Context(), auth.From(r.Context()))
		if err != nil {
			return nil, err
		}
		// Only the projects the caller has a role in.
		ps = slices.DeleteFunc(ps, func(p model.Project) bool { return roles[p.Key] == auth.RoleNone })
		return page[model.Project]{Items: ps}, nil
	})
}

func (s *Server) createProject() http.HandlerFunc {
	return bodyHandler(s, 201, pNone, func(r *http.Request, _ []string, in model.CreateProject) (any, error) {
		return s.store.CreateProject(r.Context(), in)
	})
}

func (s *Server) getProject() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		return s.store.GetProject(r.Context(), k[0])
	})
}

func (s *Server) renameProject() http.HandlerFunc {
	return bodyHandler(s, 200, pProject, func(r *http.Request, k []string, in model.Rename) (any, error) {
		return s.store.RenameProject(r.Context(), k[0], in)
	})
}

func (s *Server) listEnvironments() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		es, err := s.store.ListEnvironments(r.Context(), k[0])
		return page[model.Environment]{Items: es}, err
	})
}

func (s *Server) createEnvironment() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.CreateEnvironment) (any, error) {
		return s.store.CreateEnvironment(r.Context(), k[0], in)
	})
}

func (s *Server) renameEnvironment() http.HandlerFunc {
	return bodyHandler(s, 200, pEnv, func(r *http.Request, k []string, in model.Rename) (any, error) {
		return s.store.RenameEnvironment(r.Context(), k[0], k[1], in)
	})
}

// ---- flags ----

func (s *Server) listFlags() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		q := newQuery(r, "archived", "tag", "q", "cursor", "limit")
		f := store.FlagFilter{Archived: q.boolean("archived"), Tag: q.str("tag", 50), Search: q.str("q", 200),
			After: q.str("cursor", 100), Limit: q.limit()}
		if q.err != nil {
			return nil, q.err
		}
		flags, next, err := s.store.ListFlags(r.Context(), k[0], f)
		return page[model.Flag]{Items: flags, NextCursor: next}, err
	})
}

func (s *Server) createFlag() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.CreateFlag) (any, error) {
		return s.store.CreateFlag(r.Context(), k[0], in)
	})
}

func (s *Server) getFlag() http.HandlerFunc {
	return s.handle(200, pFlag, func(r *http.Request, k []string) (any, error) {
		return s.store.GetFlag(r.Context(), k[0], k[1])
	})
}

func (s *Server) updateFlag() http.HandlerFunc {
	return bodyHandler(s, 200, pFlag, func(r *http.Request, k []string, in model.UpdateFlag) (any, error) {
		return s.store.UpdateFlag(r.Context(), k[0], k[1], in)
	})
}

func (s *Server) setArchived(archived bool) http.HandlerFunc {
	return s.handle(200, pFlag, func(r *http.Request, k []string) (any, error) {
		return s.store.SetArchived(r.Context(), k[0], k[1], archived)
	})
}

func (s *Server) updateState() http.HandlerFunc {
	return bodyHandler(s, 200, pFlagEnv, func(r *http.Request, k []string, in model.UpdateState) (any, error) {
		return s.store.UpdateState(r.Context(), k[0], k[1], k[2], in)
	})
}

// ---- custom assignments ----

func (s *Server) listAssignments() http.HandlerFunc {
	return s.handle(200, pFlagEnv, func(r *http.Request, k []string) (any, error) {
		q := newQuery(r, "cursor", "limit")
		after, limit := q.str("cursor", model.MaxUserIDLen), q.limit()
		if q.err != nil {
			return nil, q.err
		}
		as, next, err := s.store.ListAssignments(r.Context(), k[0], k[1], k[2], after, limit)
		return page[model.Assignment]{Items: as, NextCursor: next}, err
	})
}

func (s *Server) setAssignments() http.HandlerFunc {
	return bodyHandler(s, 200, pFlagEnv, func(r *http.Request, k []string, in model.SetAssignments) (any, error) {
		n, err := s.store.SetAssignments(r.Context(), k[0], k[1], k[2], in)
		return changeCount{Changed: n}, err
	})
}

func (s *Server) removeAssignments() http.HandlerFunc {
	return bodyHandler(s, 200, pFlagEnv, func(r *http.Request, k []string, in model.RemoveAssignments) (any, error) {
		n, err := s.store.RemoveAssignments(r.Context(), k[0], k[1], k[2], in)
		return changeCount{Changed: n}, err
	})
}

// ---- SDK keys ----

func (s *Server) listSDKKeys() http.HandlerFunc {
	return s.handle(200, pEnv, func(r *http.Request, k []string) (any, error) {
		ks, err := s.store.ListSDKKeys(r.Context(), k[0], k[1])
		return page[model.SDKKey]{Items: ks}, err
	})
}

func (s *Server) createSDKKey() http.HandlerFunc {
	create := bodyHandler(s, 201, pEnv, func(r *http.Request, k []string, in model.CreateSDKKey) (any, error) {
		return s.store.CreateSDKKey(r.Context(), k[0], k[1], in)
	})
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // the secret is in this response only
		create(w, r)
	}
}

func (s *Server) revokeSDKKey() http.HandlerFunc {
	return s.handle(200, pEnv, func(r *http.Request, k []string) (any, error) {
		id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		if err != nil || id < 1 {
			return nil, errs.NotFound("sdk key %q", chi.URLParam(r, "id"))
		}
		return s.store.RevokeSDKKey(r.Context(), k[0], k[1], id)
	})
}

// ---- flag events ----

func (s *Server) listEvents() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		q := newQuery(r, "flag", "environment", "type", "actor", "since", "until", "cursor", "limit")
		f := store.EventFilter{Flag: q.str("flag", 100), Environment: q.str("environment", 100), Type: q.str("type", 50),
			Actor: q.str("actor", 200), Since: q.time("since"), Until: q.time("until"), Before: q.int64("cursor"), Limit: q.limit()}
		if f.Type != "" && !slices.Contains(model.EventTypes, f.Type) {
			q.fail(errs.Invalid("type", "unknown event type; one of %v", model.EventTypes))
		}
		if q.err != nil {
			return nil, q.err
		}
		evs, next, err := s.store.ListEvents(r.Context(), k[0], f)
		cursor := ""
		if next > 0 {
			cursor = strconv.FormatInt(next, 10)
		}
		return page[model.FlagEvent]{Items: evs, NextCursor: cursor}, err
	})
}
