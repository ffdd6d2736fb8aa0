package waypost

import (
	"encoding/json"

	"github.com/waypost/waypost/sdk/eval"
)

// ErrorProviderNotReady is the Result.ErrorCode of evaluations made before
// any flag set was loaded; the caller's default is returned.
const ErrorProviderNotReady = "PROVIDER_NOT_READY"

var notReady = eval.Result{Reason: eval.ReasonError, ErrorCode: ErrorProviderNotReady}

// Bool returns the value of a boolean flag for userID, or def when the
// flag is unknown, of another kind, or no flag set is loaded yet.
func (c *Client) Bool(key, userID string, def bool) bool {
	v, _ := c.BoolDetail(key, userID, def)
	return v
}

// String returns the value of a string flag, or def (see Bool).
func (c *Client) String(key, userID string, def string) string {
	v, _ := c.StringDetail(key, userID, def)
	return v
}

// Float returns the value of a number flag, or def (see Bool).
func (c *Client) Float(key, userID string, def float64) float64 {
	v, _ := c.FloatDetail(key, userID, def)
	return v
}

// Int returns the value of a number flag whose served value is integral,
// or def (see Bool).
func (c *Client) Int(key, userID string, def int64) int64 {
	v, _ := c.IntDetail(key, userID, def)
	return v
}

// JSON returns the value of a json flag, or def (see Bool). The result
// is shared and must not be modified.
func (c *Client) JSON(key, userID string, def json.RawMessage) json.RawMessage {
	v, _ := c.JSONDetail(key, userID, def)
	return v
}

// BoolDetail is Bool with the evaluation details. It does not allocate.
func (c *Client) BoolDetail(key, userID string, def bool) (bool, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.Bool(key, userID, def)
	if r.ExperimentKey != "" {
		c.expose(s, key, userID, &r)
	}
	return v, r
}

// StringDetail is String with the evaluation details.
func (c *Client) StringDetail(key, userID string, def string) (string, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.String(key, userID, def)
	if r.ExperimentKey != "" {
		c.expose(s, key, userID, &r)
	}
	return v, r
}

// FloatDetail is Float with the evaluation details.
func (c *Client) FloatDetail(key, userID string, def float64) (float64, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.Float(key, userID, def)
	if r.ExperimentKey != "" {
		c.expose(s, key, userID, &r)
	}
	return v, r
}

// IntDetail is Int with the evaluation details.
func (c *Client) IntDetail(key, userID string, def int64) (int64, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.Int(key, userID, def)
	if r.ExperimentKey != "" {
		c.expose(s, key, userID, &r)
	}
	return v, r
}

// JSONDetail is JSON with the evaluation details.
func (c *Client) JSONDetail(key, userID string, def json.RawMessage) (json.RawMessage, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.JSON(key, userID, def)
	if r.ExperimentKey != "" {
		c.expose(s, key, userID, &r)
	}
	return v, r
}

// expose offers an exposure to the hook. Kept out of line so the
// evaluation fast path stays small.
//
//go:noinline
func (c *Client) expose(s *eval.Snapshot, key, userID string, r *eval.Result) {
	if c.exp == nil {
		return
	}
	c.exp.offer(r.ExperimentKey, key, r.Variant, userID, s.Environment())
}
