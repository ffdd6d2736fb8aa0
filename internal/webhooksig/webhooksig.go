// Package webhooksig signs outgoing webhook bodies, the one scheme Waypost
// uses for every webhook it sends (provider announcements and project
// notifications): headers X-Waypost-Timestamp (unix seconds) and
// X-Waypost-Signature v1=hex(HMAC-SHA256(secret, "<unix seconds>." + body)).
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
