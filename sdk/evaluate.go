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
	return c.BoolContextDetail(key, &eval.Context{TargetingKey: userID}, def)
}

// StringDetail is String with the evaluation details.
func (c *Client) StringDetail(key, userID string, def string) (string, eval.Result) {
	return c.StringContextDetail(key, &eval.Context{TargetingKey: userID}, def)
}

// FloatDetail is Float with the evaluation details.
func (c *Client) FloatDetail(key, userID string, def float64) (float64, eval.Result) {
	return c.FloatContextDetail(key, &eval.Context{TargetingKey: userID}, def)
}

// IntDetail is Int with the evaluation details.
func (c *Client) IntDetail(key, userID string, def int64) (int64, eval.Result) {
	return c.IntContextDetail(key, &eval.Context{TargetingKey: userID}, def)
}

// JSONDetail is JSON with the evaluation details.
func (c *Client) JSONDetail(key, userID string, def json.RawMessage) (json.RawMessage, eval.Result) {
	return c.JSONContextDetail(key, &eval.Context{TargetingKey: userID}, def)
}

// BoolContextDetail evaluates a boolean flag for a full evaluation
// context (targeting key and attributes, see eval.Context). It does not
// allocate.
func (c *Client) BoolContextDetail(key string, ctx *eval.Context, def bool) (bool, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.BoolContext(key, ctx, def)
	c.maybeExpose(s, key, ctx, &r)
	return v, r
}

// StringContextDetail is BoolContextDetail for a string flag.
func (c *Client) StringContextDetail(key string, ctx *eval.Context, def string) (string, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.StringContext(key, ctx, def)
	c.maybeExpose(s, key, ctx, &r)
	return v, r
}

// FloatContextDetail is BoolContextDetail for a number flag.
func (c *Client) FloatContextDetail(key string, ctx *eval.Context, def float64) (float64, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.FloatContext(key, ctx, def)
	c.maybeExpose(s, key, ctx, &r)
	return v, r
}

// IntContextDetail is BoolContextDetail for a number flag served as an
// integer.
func (c *Client) IntContextDetail(key string, ctx *eval.Context, def int64) (int64, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.IntContext(key, ctx, def)
	c.maybeExpose(s, key, ctx, &r)
	return v, r
}

// JSONContextDetail is BoolContextDetail for a json flag.
func (c *Client) JSONContextDetail(key string, ctx *eval.Context, def json.RawMessage) (json.RawMessage, eval.Result) {
	s := c.snap.Load()
	if s == nil {
		return def, notReady
	}
	v, r := s.JSONContext(key, ctx, def)
	c.maybeExpose(s, key, ctx, &r)
	return v, r
}

func (c *Client) maybeExpose(s *eval.Snapshot, key string, ctx *eval.Context, r *eval.Result) {
	if r.ExperimentKey != "" && ctx != nil {
		c.expose(s, key, ctx.TargetingKey, r)
	}
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
