package waypost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

// errStreamBlocked: something on the way answered the stream request with
// something else than an event stream.
var errStreamBlocked = errors.New("streaming blocked (a proxy?); polling /v1/flags meanwhile")

// errHeartbeat: the stream delivered no bytes for HeartbeatTimeout.
var errHeartbeat = errors.New("waypost: stream silent for longer than the heartbeat timeout")

// run keeps the flag set current until ctx ends or the provider rejects
// the key: fetch, stream, and on failure back off and start again.
func (c *Client) run(ctx context.Context) {
	defer close(c.loopDone)
	attempt := 0
	blocked := false // the last stream was refused or silenced on the way (a proxy)
	for {
		connected, err := c.connect(ctx, blocked)
		blocked = errors.Is(err, errStreamBlocked) || errors.Is(err, errHeartbeat)
		if ctx.Err() != nil {
			return
		}
		if isFinal(err) {
			c.log.Error("waypost: provider rejected the sdk key; not retrying, serving the last known flags",
				"err", err, "revision", c.Status().Revision)
			c.setState(StateFailed, err)
			c.failOnce.Do(func() { close(c.failed) })
			return
		}
		if connected >= c.cfg.ResetAfter {
			attempt = 0
		}
		if errors.Is(err, errBaseMismatch) {
			c.log.Info("waypost: reconnecting to resynchronise", "err", err)
		} else {
			c.log.Warn("waypost: provider connection lost; serving the last known flags", "err", err)
			c.setState(StateDisconnected, err)
		}
		delay := backoff(c.cfg.InitialBackoff, c.cfg.MaxBackoff, attempt)
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff returns a delay drawn uniformly from [0, min(max, initial*2^attempt)]
// ("full jitter").
func backoff(initial, max time.Duration, attempt int) time.Duration {
	ceil := max
	if attempt < 32 {
		if d := initial << attempt; d > 0 && d < max {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// connect runs one stream, preceded by a GET /v1/flags while no flag set
// from the provider is held (afterwards the stream's put events, keyed by
// Last-Event-ID, resynchronise a reconnecting client on their own). It
// returns how long the stream was open and why it ended (never nil).
//
// Polling fallback: when the last stream was blocked on the way (answered
// with another content type than text/event-stream, or silent past
// HeartbeatTimeout, as behind a proxy that refuses or buffers SSE), the
// attempt first polls GET /v1/flags with If-None-Match (a 304 when
// nothing changed). A client whose stream stays blocked so follows changes
// at the reconnection backoff's pace (InitialBackoff doubling to
// MaxBackoff, full jitter). Other failures resynchronise through the next
// stream's put, as before.
func (c *Client) connect(ctx context.Context, blocked bool) (time.Duration, error) {
	if blocked && c.heldRevision() >= 0 {
		if err := c.fetch(ctx); err != nil {
			if isFinal(err) || ctx.Err() != nil {
				return 0, err
			}
			c.log.Debug("waypost: polling fallback fetch failed", "err", err)
		}
	}
	if c.heldRevision() < 0 {
		if err := c.fetch(ctx); err != nil {
			if isFinal(err) || ctx.Err() != nil {
				return 0, err
			}
			// The stream sends the whole set too: try it anyway.
			c.log.Warn("waypost: initial fetch failed; trying the stream", "err", err)
		}
	}
	return c.stream(ctx)
}

// endpoint resolves path against the provider URL.
func (c *Client) endpoint(path string) (string, error) {
	base, err := url.Parse(c.cfg.ProviderURL)
	if err != nil {
		return "", fmt.Errorf("waypost: provider url: %w", err)
	}
	return base.JoinPath(path).String(), nil
}

func (c *Client) newRequest(ctx context.Context, path string) (*http.Request, error) {
	u, err := c.endpoint(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("waypost: request %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.SDKKey)
	req.Header.Set("User-Agent", "waypost-go-sdk")
	return req, nil
}

// heldRevision returns the revision received from the provider, or -1
// when the served set is a bootstrap (or none), which must not be
// announced to the provider.
func (c *Client) heldRevision() int64 {
	st := c.Status()
	if st.Source != SourceProvider {
		return -1
	}
	return st.Revision
}

// statusError maps a non-success HTTP status to an error.
func statusError(op string, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: %w", op, ErrUnauthorized)
	case http.StatusForbidden:
		return fmt.Errorf("%s: %w", op, ErrForbidden)
	}
	return fmt.Errorf("waypost: %s: unexpected status %s", op, resp.Status)
}

// fetch performs GET /v1/flags and serves the result.
func (c *Client) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, "/v1/flags")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if rev := c.heldRevision(); rev >= 0 {
		req.Header.Set("If-None-Match", strconv.Quote(strconv.FormatInt(rev, 10)))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("waypost: get /v1/flags: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return statusError("get /v1/flags", resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.cfg.MaxEventBytes)+1))
	if err != nil {
		return fmt.Errorf("waypost: get /v1/flags: read body: %w", err)
	}
	if len(body) > c.cfg.MaxEventBytes {
		return fmt.Errorf("waypost: get /v1/flags: body exceeds %d bytes", c.cfg.MaxEventBytes)
	}
	c.applyPut(body, "fetch")
	return nil
}

// stream performs GET /v1/stream and applies its events until it ends.
func (c *Client) stream(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// No bytes (headers included) for HeartbeatTimeout: give up on it.
	timer := time.AfterFunc(c.cfg.HeartbeatTimeout, func() { cancel(errHeartbeat) })
	defer timer.Stop()

	req, err := c.newRequest(ctx, "/v1/stream")
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if rev := c.heldRevision(); rev >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(rev, 10))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("waypost: get /v1/stream: %w", streamCause(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, statusError("get /v1/stream", resp)
	}
	if ct := resp.Header.Get("Content-Type"); !isEventStream(ct) {
		return 0, fmt.Errorf("waypost: get /v1/stream: content type %q, want text/event-stream: %w", ct, errStreamBlocked)
	}
	timer.Reset(c.cfg.HeartbeatTimeout)
	start := time.Now()
	c.setState(StateConnected, nil)

	body := &activityReader{r: resp.Body, touch: func() { timer.Reset(c.cfg.HeartbeatTimeout) }}
	sse := newSSEReader(body, 0, c.cfg.MaxEventBytes)
	for {
		ev, err := sse.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the provider closed the stream
			}
			return time.Since(start), fmt.Errorf("waypost: stream: %w", streamCause(ctx, err))
		}
		if err := c.handleEvent(ev); err != nil {
			return time.Since(start), err
		}
	}
}

// streamCause prefers the heartbeat timeout over the error it provoked.
func streamCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errHeartbeat) {
		return cause
	}
	return err
}

// activityReader calls touch whenever bytes arrive.
type activityReader struct {
	r     io.Reader
	touch func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// handleEvent applies one stream event. A non-nil error ends the stream.
func (c *Client) handleEvent(ev sseEvent) error {
	switch ev.Type {
	case "put":
		c.applyPut(ev.Data, "put")
		return nil
	case "patch":
		return c.applyPatchEvent(ev.Data)
	case "error":
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("waypost: stream: error event: %w", err)
		}
		if e.Code == "key_revoked" {
			return fmt.Errorf("waypost: stream: %w", ErrKeyRevoked)
		}
		return fmt.Errorf("waypost: stream: provider error %q: %s", e.Code, e.Message)
	default:
		c.log.Debug("waypost: ignoring stream event", "type", ev.Type)
		return nil
	}
}

// applyPut serves a whole flag set unless it is older than the held one
// or invalid (then the held set stays and the problem is logged).
func (c *Client) applyPut(data []byte, op string) {
	var wire eval.FlagSet
	if err := decodeStrict(data, &wire); err != nil {
		c.reject(op, fmt.Errorf("decode: %w", err))
		return
	}
	if held := c.heldRevision(); held >= 0 && wire.Revision <= held {
		if wire.Revision < held {
			c.log.Debug("waypost: ignoring older flag set", "op", op, "revision", wire.Revision, "held", held)
		}
		return
	}
	// Unchanged flags keep their compiled form (a put often differs from
	// the held set in a few flags).
	snap, err := eval.CompileFrom(c.snap.Load(), &wire)
	if err != nil {
		c.reject(op, err)
		return
	}
	c.install(&wire, snap, SourceProvider)
}

// applyPatchEvent applies a patch to the held set. A patch whose base is
// not the held revision ends the stream (errBaseMismatch).
func (c *Client) applyPatchEvent(data []byte) error {
	var p patchEvent
	if err := decodeStrict(data, &p); err != nil {
		c.reject("patch", fmt.Errorf("decode: %w", err))
		return fmt.Errorf("waypost: stream: undecodable patch: %w", errBaseMismatch)
	}
	held := c.heldRevision()
	if held >= 0 && p.Revision <= held {
		c.log.Debug("waypost: ignoring older patch", "revision", p.Revision, "held", held)
		return nil
	}
	if held < 0 {
		return fmt.Errorf("%w: no provider flag set held", errBaseMismatch)
	}
	wire, err := applyPatch(c.wire, &p)
	if errors.Is(err, errBaseMismatch) {
		return err
	}
	if err != nil {
		c.reject("patch", err)
		return fmt.Errorf("waypost: stream: %w", errBaseMismatch)
	}
	snap, err := eval.CompileFrom(c.snap.Load(), wire) // the patched flags alone are compiled
	if err != nil {
		c.reject("patch", err)
		return nil // the next patch will not match: we then reconnect
	}
	c.install(wire, snap, SourceProvider)
	return nil
}

// reject logs an unusable flag set and records it in Status().Err.
func (c *Client) reject(op string, err error) {
	c.log.Error("waypost: rejected flag set; keeping the previous one", "op", op, "err", err)
	c.mu.Lock()
	c.status.Err = fmt.Errorf("waypost: %s rejected: %w", op, err)
	c.mu.Unlock()
}

// isEventStream reports whether a content type names an event stream.
func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.EqualFold(mt, "text/event-stream")
}
