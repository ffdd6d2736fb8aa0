package api

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

// Safe rollouts (docs/safe-rollouts.md) and the project's notification
// webhooks.

var pRollout = []string{"project", "rollout"}

func (s *Server) safeRolloutRoutes(r chi.Router) {
	r.Get("/safe-rollouts", s.listSafeRollouts())
	r.Post("/safe-rollouts", s.createSafeRollout())
	r.Get("/safe-rollouts/{rollout}", s.getSafeRollout())
	for _, action := range []string{model.ActionStart, model.ActionPause, model.ActionResume, model.ActionAdvance, model.ActionRollback} {
		r.Post("/safe-rollouts/{rollout}/"+action, s.safeRolloutAction(action))
	}
	r.Get("/notification-webhooks", s.listNotificationWebhooks())
	r.Post("/notification-webhooks", s.createNotificationWebhook())
	r.Delete("/notification-webhooks/{id}", s.deleteNotificationWebhook())
}

func (s *Server) listSafeRollouts() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		q := newQuery(r, "flag")
		flag := q.str("flag", 100)
		if q.err != nil {
			return nil, q.err
		}
		if flag != "" && !model.ValidKey(flag) {
			return nil, errs.Invalid("flag", "a valid flag key is required")
		}
		rs, err := s.store.ListSafeRollouts(r.Context(), k[0], flag)
		return page[model.SafeRollout]{Items: rs}, err
	})
}

func (s *Server) createSafeRollout() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.SaveSafeRollout) (any, error) {
		return s.store.CreateSafeRollout(r.Context(), k[0], in)
	})
}

func (s *Server) getSafeRollout() http.HandlerFunc {
	return s.handle(200, pRollout, func(r *http.Request, k []string) (any, error) {
		return s.store.GetSafeRollout(r.Context(), k[0], k[1])
	})
}

// safeRolloutAction takes an optional body {"reason": "..."}.
func (s *Server) safeRolloutAction(action string) http.HandlerFunc {
	return s.handle(200, pRollout, func(r *http.Request, k []string) (any, error) {
		var in model.RolloutAction
		if err := decodeOptional(r, &in); err != nil {
			return nil, err
		}
		return s.store.SafeRolloutAction(r.Context(), k[0], k[1], action, in)
	})
}

func (s *Server) listNotificationWebhooks() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		ws, err := s.store.ListNotificationWebhooks(r.Context(), k[0])
		return page[model.NotificationWebhook]{Items: ws}, err
	})
}

func (s *Server) createNotificationWebhook() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.SaveNotificationWebhook) (any, error) {
		return s.store.CreateNotificationWebhook(r.Context(), k[0], in)
	})
}

func (s *Server) deleteNotificationWebhook() http.HandlerFunc {
	return s.handle(204, pProject, func(r *http.Request, k []string) (any, error) {
		id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		if err != nil || id < 1 {
			return nil, errs.NotFound("notification webhook %q", chi.URLParam(r, "id"))
		}
		return nil, s.store.DeleteNotificationWebhook(r.Context(), k[0], id)
	})
}
