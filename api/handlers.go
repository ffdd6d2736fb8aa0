package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

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

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.ListProjects(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[model.Project]{Items: ps})
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var in model.CreateProject
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.store.CreateProject(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err == nil {
		var p model.Project
		if p, err = s.store.GetProject(r.Context(), key); err == nil {
			writeJSON(w, http.StatusOK, p)
			return
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) renameProject(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.Rename
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.store.RenameProject(r.Context(), key, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	es, err := s.store.ListEnvironments(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[model.Environment]{Items: es})
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.CreateEnvironment
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.store.CreateEnvironment(r.Context(), key, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) renameEnvironment(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.Rename
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.store.RenameEnvironment(r.Context(), keys[0], keys[1], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQuery(r, "archived", "tag", "q", "cursor", "limit")
	f := store.FlagFilter{Archived: q.boolean("archived"), Tag: q.str("tag", 50), Search: q.str("q", 200),
		After: q.str("cursor", 100), Limit: q.limit()}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	flags, next, err := s.store.ListFlags(r.Context(), key, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[model.Flag]{Items: flags, NextCursor: next})
}

func (s *Server) createFlag(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.CreateFlag
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.store.CreateFlag(r.Context(), key, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.store.GetFlag(r.Context(), keys[0], keys[1])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) updateFlag(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.UpdateFlag
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.store.UpdateFlag(r.Context(), keys[0], keys[1], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) archiveFlag(w http.ResponseWriter, r *http.Request) { s.setArchived(w, r, true) }
func (s *Server) restoreFlag(w http.ResponseWriter, r *http.Request) { s.setArchived(w, r, false) }

func (s *Server) setArchived(w http.ResponseWriter, r *http.Request, archived bool) {
	keys, err := pathKeys(r, "project", "flag")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.store.SetArchived(r.Context(), keys[0], keys[1], archived)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) updateState(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.UpdateState
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.store.UpdateState(r.Context(), keys[0], keys[1], keys[2], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQuery(r, "cursor", "limit")
	after, limit := q.str("cursor", model.MaxUserIDLen), q.limit()
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	as, next, err := s.store.ListAssignments(r.Context(), keys[0], keys[1], keys[2], after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[model.Assignment]{Items: as, NextCursor: next})
}

// changeCount answers batch changes: how many rows actually changed.
type changeCount struct {
	Changed int64 `json:"changed"`
}

func (s *Server) setAssignments(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.SetAssignments
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.store.SetAssignments(r.Context(), keys[0], keys[1], keys[2], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, changeCount{Changed: n})
}

func (s *Server) removeAssignments(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "flag", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.RemoveAssignments
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.store.RemoveAssignments(r.Context(), keys[0], keys[1], keys[2], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, changeCount{Changed: n})
}

func (s *Server) listSDKKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ks, err := s.store.ListSDKKeys(r.Context(), keys[0], keys[1])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[model.SDKKey]{Items: ks})
}

func (s *Server) createSDKKey(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in model.CreateSDKKey
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.store.CreateSDKKey(r.Context(), keys[0], keys[1], in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, k)
}

func (s *Server) revokeSDKKey(w http.ResponseWriter, r *http.Request) {
	keys, err := pathKeys(r, "project", "environment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, perr := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if perr != nil || id < 1 {
		s.writeError(w, r, errs.NotFound("sdk key %q", chi.URLParam(r, "id")))
		return
	}
	k, err := s.store.RevokeSDKKey(r.Context(), keys[0], keys[1], id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r, "project")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQuery(r, "flag", "environment", "type", "actor", "since", "until", "cursor", "limit")
	f := store.EventFilter{Flag: q.str("flag", 100), Environment: q.str("environment", 100), Type: q.str("type", 50),
		Actor: q.str("actor", 200), Since: q.time("since"), Until: q.time("until"), Before: q.int64("cursor"), Limit: q.limit()}
	if f.Type != "" && !slices.Contains(model.EventTypes, f.Type) {
		q.fail(errs.Invalid("type", "unknown event type; one of %v", model.EventTypes))
	}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	evs, next, err := s.store.ListEvents(r.Context(), key, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cursor := ""
	if next > 0 {
		cursor = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, page[model.FlagEvent]{Items: evs, NextCursor: cursor})
}
