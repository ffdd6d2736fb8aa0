// Package webhooksig signs outgoing webhook bodies, the one scheme Waypost
// uses for every webhook it sends (provider announcements and project
// notifications): headers X-Waypost-Timestamp (unix seconds) and
// X-Waypost-Signature v1=hex(HMAC-SHA256(secret, "<unix seconds>." + body)).
package webhooksig

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Header names.
const (
	HeaderTimestamp = "X-Waypost-Timestamp"
	HeaderSignature = "X-Waypost-Signature"
)

// Sign returns the X-Waypost-Signature value for body sent at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sig is body's signature at ts under secret.
func Verify(secret string, ts time.Time, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// NewRequest builds the signed JSON POST of body to url at now, with the
// event and delivery id headers (X-Waypost-Event, X-Waypost-Delivery: the
// key a receiver deduplicates retries on).
func NewRequest(ctx context.Context, url, secret, event, delivery string, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secret, now, body))
	req.Header.Set("X-Waypost-Event", event)
	req.Header.Set("X-Waypost-Delivery", delivery)
	return req, nil
}
