package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/jsontext"
	"github.com/waypost/waypost/internal/model"
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
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, model.MaxEventsBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes; send smaller batches", model.MaxEventsBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "unreadable body")
		return
	}
	batch, err := DecodeEvents(raw, time.Now())
	if err != nil {
		e, _ := errs.As(err)
		status := http.StatusUnprocessableEntity
		if e.Kind == errs.KindBadRequest {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message, "field": e.Field}})
		return
	}
	res, err := p.st.IngestEvents(r.Context(), k.envID, batch.Events)
	if e, ok := errs.As(err); ok && e.Kind != errs.KindInternal && e.Kind != errs.KindUnavailable {
		// The database refused a value (a client error, not worth a retry).
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message, "field": e.Field}})
		return
	}
	if err != nil {
		p.cfg.Log.Warn("events ingestion failed", "environment_id", k.envID, "events", len(batch.Events), "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the events could not be stored; retry the same batch later")
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// DecodeEvents reads an events batch: one JSON object, no unknown fields,
// valid UTF-8 without NUL characters, every event valid (model.EventBatch
// Validate at now). Errors are typed and name the field, such as
// events[3].userId: KindBadRequest for an unreadable body (400),
// KindInvalid for a rule broken (422). Either way nothing is stored and
// the SDKs do not retry.
func DecodeEvents(body []byte, now time.Time) (model.EventBatch, error) {
	var batch model.EventBatch
	if err := jsontext.Check(body); err != nil {
		return batch, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		return batch, errs.BadRequest("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return batch, errs.BadRequest("the body must be a single JSON object")
	}
	if err := batch.Validate(now); err != nil {
		return batch, err
	}
	return batch, nil
}
