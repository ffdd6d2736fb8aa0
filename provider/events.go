package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// events serves POST /v1/events: batched exposure and metric events for
// the built-in events store (docs/protocol.md). Server and client keys are
// accepted; the body is bounded to 1 MiB and 1000 events; every event
// carries an idempotency key, so a retried batch is not counted twice.
// Answers: 202 {"inserted","duplicates"}, 400 unreadable body, 401/403
// key, 413 too large, 422 invalid event (error.field names it), 503 when
// the database cannot take the batch (retry later).
func (p *Provider) events(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; POST a batch")
		return
	}
	k, _, ok := p.lookupKey(sdkKey(r, false))
	if !ok {
		p.metrics.authFailed.Add(1)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing, unknown or revoked SDK key")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return
	}
	var batch model.EventBatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, model.MaxEventsBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes; send smaller batches", model.MaxEventsBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON body: "+err.Error())
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request", "the body must be a single JSON object")
		return
	}
	if err := batch.Validate(time.Now()); err != nil {
		e, _ := errs.As(err)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message, "field": e.Field}})
		return
	}
	res, err := store.New(p.cfg.Pool).IngestEvents(r.Context(), k.envID, batch.Events)
	if err != nil {
		p.cfg.Log.Warn("events ingestion failed", "environment_id", k.envID, "events", len(batch.Events), "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the events could not be stored; retry the same batch later")
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
