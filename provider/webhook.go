package provider

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/jsontext"
	"github.com/waypost/waypost/internal/webhooksig"
)

// Webhooks are pushed by River jobs (webhookjob.go) after every change made
// through the manager. A webhook only announces a revision: the provider
// never takes flags or keys from it, it reads the environment from the
// database (the reloader, one snapshot of flags and keys), which confirms
// the revision. A forged or replayed announcement can therefore cost a
// database read, never install state; a revision far ahead of the
// database's pins nothing.

const (
	webhookMaxAge = 5 * time.Minute
	// MaxWebhookBody bounds an announcement; nothing more is read.
	MaxWebhookBody = 64 << 10
	// Header names.
	headerTimestamp = "X-Waypost-Timestamp"
	headerSignature = "X-Waypost-Signature"
)

// WebhookPayload is the body of POST /internal/webhook: an announcement
// that an environment reached a revision.
type WebhookPayload struct {
	EnvironmentID int64 `json:"environmentId"`
	Revision      int64 `json:"revision"`
}

// Sign returns the X-Waypost-Signature value for body sent at ts:
// v1=hex(HMAC-SHA256(secret, "<unix seconds>." + body)).
// (package webhooksig, shared with the project notifications).
func Sign(secret string, ts time.Time, body []byte) string {
	return webhooksig.Sign(secret, ts, body)
}

// replayCache remembers signatures seen within webhookMaxAge.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newReplayCache() *replayCache { return &replayCache{seen: map[string]time.Time{}} }

// firstTime records sig and reports whether it was new.
func (c *replayCache) firstTime(sig string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) > 1024 {
		for s, t := range c.seen {
			if now.Sub(t) > webhookMaxAge {
				delete(c.seen, s)
			}
		}
	}
	if _, dup := c.seen[sig]; dup {
		return false
	}
	c.seen[sig] = now
	return true
}

func (p *Provider) webhook(w http.ResponseWriter, r *http.Request) {
	// Headers first: nothing of the body is read for a request that is
	// unsigned, stale, or announces more than an announcement can hold.
	// Until the signature is verified the connection closes after the
	// answer, so net/http does not read (discard) an unread body either.
	w.Header().Set("Connection", "close")
	now := time.Now()
	secs, err := strconv.ParseInt(r.Header.Get(headerTimestamp), 10, 64)
	sig := strings.TrimSpace(r.Header.Get(headerSignature))
	if err != nil || sig == "" {
		p.metrics.webhook("bad_signature")
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing timestamp or signature")
		return
	}
	if age := now.Sub(time.Unix(secs, 0)); age > webhookMaxAge || age < -webhookMaxAge {
		p.metrics.webhook("stale_timestamp")
		writeError(w, http.StatusUnauthorized, "unauthorized", "timestamp too far from now")
		return
	}
	if r.ContentLength > MaxWebhookBody {
		p.metrics.webhook("bad_request")
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a webhook announcement is at most %d bytes", MaxWebhookBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		p.metrics.webhook("bad_request")
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("unreadable body, or larger than %d bytes", MaxWebhookBody))
		return
	}
	want := Sign(p.cfg.WebhookSecret, time.Unix(secs, 0), body)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		p.metrics.webhook("bad_signature")
		writeError(w, http.StatusUnauthorized, "unauthorized", "bad signature")
		return
	}
	w.Header().Del("Connection")
	if !p.replay.firstTime(sig, now) {
		p.metrics.webhook("replay")
		writeError(w, http.StatusConflict, "replay", "this webhook was already received")
		return
	}
	in, err := DecodeWebhook(body)
	if err != nil {
		p.metrics.webhook("bad_request")
		e, _ := errs.As(err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message, "field": e.Field}})
		return
	}
	held := p.Revision(in.EnvironmentID)
	if in.Revision <= held {
		p.metrics.webhook("ignored_old_revision")
		writeJSON(w, http.StatusOK, map[string]any{"accepted": false, "revision": held})
		return
	}
	// The reloader reads the environment from the database, which confirms
	// the revision (or shows that it does not exist yet).
	p.reloader.request(in.EnvironmentID, in.Revision, "webhook")
	p.metrics.webhook("accepted")
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "revision": held})
}

// DecodeWebhook reads an announcement: one JSON object with a positive
// environmentId and revision; unknown fields (the flag sets and keys older
// workers sent) are ignored. Errors are KindBadRequest naming the field.
func DecodeWebhook(body []byte) (WebhookPayload, error) {
	var in WebhookPayload
	if err := jsontext.Check(body); err != nil {
		return in, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return in, errs.BadRequest("malformed webhook announcement: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return in, errs.BadRequest("the body must be a single JSON object")
	}
	if in.EnvironmentID <= 0 {
		return in, &errs.Error{Kind: errs.KindBadRequest, Code: "bad_request", Field: "environmentId", Message: "must be a positive environment id"}
	}
	if in.Revision <= 0 {
		return in, &errs.Error{Kind: errs.KindBadRequest, Code: "bad_request", Field: "revision", Message: "must be a positive revision"}
	}
	return in, nil
}
