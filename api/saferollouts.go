package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/internal/webhooksig"
)

// Safe rollouts (docs/safe-rollouts.md) and the project's notification
// webhooks.

var pRollout = []string{"project", "rollout"}

func (s *Server) safeRolloutRoutes(r chi.Router) {
	r.Get("/safe-rollouts", s.listSafeRollouts())
	r.Post("/safe-rollouts", s.createSafeRollout())
	r.Get("/safe-rollouts/{rollout}", s.getSafeRollout())
	r.Patch("/safe-rollouts/{rollout}", s.updateSafeRollout())
	for _, action := range []string{model.ActionStart, model.ActionPause, model.ActionResume, model.ActionAdvance, model.ActionRollback} {
		r.Post("/safe-rollouts/{rollout}/"+action, s.safeRolloutAction(action))
	}
	r.Get("/notification-webhooks", s.listNotificationWebhooks())
	r.Post("/notification-webhooks", s.createNotificationWebhook())
	r.Patch("/notification-webhooks/{id}", s.updateNotificationWebhook())
	r.Delete("/notification-webhooks/{id}", s.deleteNotificationWebhook())
	r.Post("/notification-webhooks/{id}/test", s.testNotificationWebhook())
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

func webhookID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.NotFound("notification webhook %q", chi.URLParam(r, "id"))
	}
	return id, nil
}

func (s *Server) deleteNotificationWebhook() http.HandlerFunc {
	return s.handle(204, pProject, func(r *http.Request, k []string) (any, error) {
		id, err := webhookID(r)
		if err != nil {
			return nil, err
		}
		return nil, s.store.DeleteNotificationWebhook(r.Context(), k[0], id)
	})
}

// updateSafeRollout changes a draft or paused rollout's stages.
func (s *Server) updateSafeRollout() http.HandlerFunc {
	return bodyHandler(s, 200, pRollout, func(r *http.Request, k []string, in model.UpdateSafeRollout) (any, error) {
		return s.store.UpdateSafeRollout(r.Context(), k[0], k[1], in)
	})
}

func (s *Server) updateNotificationWebhook() http.HandlerFunc {
	return bodyHandler(s, 200, pProject, func(r *http.Request, k []string, in model.UpdateNotificationWebhook) (any, error) {
		id, err := webhookID(r)
		if err != nil {
			return nil, err
		}
		return s.store.UpdateNotificationWebhook(r.Context(), k[0], id, in)
	})
}

// webhookTestClient sends test notifications; the deadline is short, the
// caller is waiting.
var webhookTestClient = &http.Client{Timeout: 5 * time.Second}

// testNotificationWebhook sends a signed test notification now (event
// "test", Slack-compatible text) and answers with the receiver's status;
// 502 when it cannot be reached or does not answer 2xx.
func (s *Server) testNotificationWebhook() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		id, err := webhookID(r)
		if err != nil {
			return nil, err
		}
		target, err := s.store.ProjectNotificationWebhook(r.Context(), k[0], id)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		delivery := fmt.Sprintf("test-%d-%d", id, now.UnixNano())
		body, _ := json.Marshal(map[string]any{
			"text":    fmt.Sprintf(":wave: Test notification from Waypost project *%s*: safe-rollout notifications will arrive here. (by %s)", k[0], store.ActorFrom(r.Context())),
			"event":   "test",
			"project": k[0],
			"actor":   store.ActorFrom(r.Context()),
			"at":      now.UTC(),
		})
		req, err := webhooksig.NewRequest(r.Context(), target.URL, target.Secret, "safe_rollout.test", delivery, body, now)
		if err != nil {
			return nil, errs.Invalid("url", "%v", err)
		}
		res, err := webhookTestClient.Do(req)
		if err != nil {
			return nil, errs.BadGateway("unreachable", fmt.Sprintf("cannot reach %s (%v)", req.URL.Host, errors.Unwrap(err)), err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		_ = res.Body.Close()
		if res.StatusCode/100 != 2 {
			return nil, errs.BadGateway("webhook_refused", fmt.Sprintf("%s answered %d", req.URL.Host, res.StatusCode), nil)
		}
		return model.WebhookTestResult{Status: res.StatusCode, Delivery: delivery}, nil
	})
}
