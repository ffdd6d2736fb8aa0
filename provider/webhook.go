package provider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

// Webhooks are pushed by River jobs (webhookjob.go) after every change made
// through the manager. The body carries the environment's new flag set and
// its valid keys, so a provider can apply it without a database read.

const (
	webhookMaxAge  = 5 * time.Minute
	maxWebhookBody = 32 << 20
	// Header names.
	headerTimestamp = "X-Waypost-Timestamp"
	headerSignature = "X-Waypost-Signature"
)

// WebhookPayload is the body of POST /internal/webhook.
type WebhookPayload struct {
	EnvironmentID int64         `json:"environmentId"`
	Revision      int64         `json:"revision"`
	FlagSet       *eval.FlagSet `json:"flagSet"`
	Keys          []WebhookKey  `json:"keys"`
}

// WebhookKey is a valid SDK key of the environment (hash only).
type WebhookKey struct {
	ID     int64  `json:"id"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"` // hex
}

// Sign returns the X-Waypost-Signature value for body sent at ts:
// v1=hex(HMAC-SHA256(secret, "<unix seconds>." + body)).
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
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
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		p.metrics.webhook("bad_request")
		writeError(w, http.StatusBadRequest, "bad_request", "unreadable or too large body")
		return
	}
	now := time.Now()
	tsHeader := r.Header.Get(headerTimestamp)
	sig := r.Header.Get(headerSignature)
	secs, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || sig == "" {
		p.metrics.webhook("bad_signature")
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing timestamp or signature")
		return
	}
	want := Sign(p.cfg.WebhookSecret, time.Unix(secs, 0), body)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(sig))) {
		p.metrics.webhook("bad_signature")
		writeError(w, http.StatusUnauthorized, "unauthorized", "bad signature")
		return
	}
	if age := now.Sub(time.Unix(secs, 0)); age > webhookMaxAge || age < -webhookMaxAge {
		p.metrics.webhook("stale_timestamp")
		writeError(w, http.StatusUnauthorized, "unauthorized", "timestamp too far from now")
		return
	}
	if !p.replay.firstTime(sig, now) {
		p.metrics.webhook("replay")
		writeError(w, http.StatusConflict, "replay", "this webhook was already received")
		return
	}
	var in WebhookPayload
	if err := json.Unmarshal(body, &in); err != nil || in.FlagSet == nil || in.EnvironmentID <= 0 || in.FlagSet.Revision != in.Revision {
		p.metrics.webhook("bad_request")
		writeError(w, http.StatusBadRequest, "bad_request", "malformed webhook payload")
		return
	}
	keys, err := decodeWebhookKeys(in)
	if err != nil {
		p.metrics.webhook("bad_request")
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if in.Revision <= p.Revision(in.EnvironmentID) {
		p.metrics.webhook("ignored_old_revision")
		writeJSON(w, http.StatusOK, map[string]any{"applied": false, "revision": p.Revision(in.EnvironmentID)})
		return
	}
	p.applyKeys(keys, []int64{in.EnvironmentID}) // keys first: a revoked key gets no newer state
	if _, err := p.applySet(in.EnvironmentID, in.FlagSet, "webhook"); err != nil {
		p.metrics.webhook("invalid_flag_set")
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	p.metrics.webhook("applied")
	writeJSON(w, http.StatusOK, map[string]any{"applied": true, "revision": in.Revision})
}

func decodeWebhookKeys(in WebhookPayload) (map[keyHash]keyInfo, error) {
	out := make(map[keyHash]keyInfo, len(in.Keys))
	for _, k := range in.Keys {
		raw, err := hex.DecodeString(k.SHA256)
		var h keyHash
		if err != nil || len(raw) != len(h) || (k.Kind != "server" && k.Kind != "client") {
			return nil, fmt.Errorf("malformed key %d", k.ID)
		}
		copy(h[:], raw)
		out[h] = keyInfo{id: k.ID, envID: in.EnvironmentID, server: k.Kind == "server"}
	}
	return out, nil
}
