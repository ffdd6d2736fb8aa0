package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/jsontext"
	"github.com/waypost/waypost/internal/store"
)

// maxBodyBytes bounds every request body (a 10,000-assignment batch fits).
const maxBodyBytes = 2 << 20

// retryAfterSeconds is the Retry-After of every 503.
const retryAfterSeconds = "5"

// errorBody is the JSON shape of every error response:
// {"error":{"code":"...","message":"...","field":"..."}}; version conflicts
// add "current" with the resource as it is now.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Current any    `json:"current,omitempty"`
}

// statusOf is the one place where error kinds become HTTP statuses.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.KindBadRequest:
		return http.StatusBadRequest
	case errs.KindInvalid:
		return http.StatusUnprocessableEntity
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindUnavailable:
		return http.StatusServiceUnavailable
	case errs.KindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindTooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers with err's status and JSON body. Internal errors are
// logged with their cause and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errs.As(err)
	if (!ok || e.Kind == errs.KindInternal) && store.DatabaseUnavailable(err) {
		s.log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{
			Code: "database_unavailable", Message: "the database is not answering; retry in a few seconds"}})
		return
	}
	if !ok || e.Kind == errs.KindInternal {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{
			Code: "internal", Message: "internal error; the server log has the details"}})
		return
	}
	if e.Kind == errs.KindUnavailable {
		s.log.WarnContext(r.Context(), "dependency unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, statusOf(e.Kind), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field, Current: e.Current}})
}

// decode reads exactly one JSON object into dst, refusing a body without
// Content-Type: application/json (415: a browser cannot send one
// cross-site without a CORS preflight), unknown fields, trailing data,
// invalid UTF-8 and NUL characters (400 naming the field), and bodies over
// maxBodyBytes.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeMax(w, r, dst, maxBodyBytes)
}

// decodeMax is decode with another body size limit.
func decodeMax(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return &errs.Error{Kind: errs.KindUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return decodeError(err)
	}
	if err := jsontext.Check(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.BadRequest("request body must contain a single JSON object")
	}
	return nil
}

// isJSON reports whether a Content-Type header names JSON.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return errs.BadRequest("request body is empty; a JSON object is required")
	case errors.As(err, &tooBig):
		return errs.BadRequest("request body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &syn):
		return errs.BadRequest("malformed JSON at byte %d", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.BadRequest("malformed JSON: unexpected end of body")
	case errors.As(err, &typ):
		field := typ.Field
		return &errs.Error{Kind: errs.KindBadRequest, Code: "bad_request", Field: field,
			Message: fmt.Sprintf("wrong JSON type: expected %s", typ.Type)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Kind: errs.KindBadRequest, Code: "unknown_field", Field: name,
			Message: fmt.Sprintf("unknown field %q", name)}
	}
	return errs.BadRequest("malformed JSON: %v", err)
}
