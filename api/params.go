package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pathKey returns a key from the route, answering 404 for anything that
// cannot be a key (it cannot exist, so there is nothing to look up).
func pathKey(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	if !model.ValidKey(v) {
		return "", errs.NotFound("%s %q", name, v)
	}
	return v, nil
}

// pathKeys returns several route keys at once.
func pathKeys(r *http.Request, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		k, err := pathKey(r, n)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}

// query reads and validates query-string parameters.
type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{v: r.URL.Query()}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range q.v {
		if !ok[k] {
			q.fail(&errs.Error{Kind: errs.KindBadRequest, Code: "unknown_parameter", Field: k, Message: "unknown query parameter " + strconv.Quote(k)})
		}
	}
	return q
}

func (q *query) fail(err error) {
	if q.err == nil {
		q.err = err
	}
}

func (q *query) str(name string, max int) string {
	s := q.v.Get(name)
	if len(s) > max {
		q.fail(errs.Invalid(name, "at most %d characters", max))
	}
	return s
}

func (q *query) limit() int {
	s := q.v.Get("limit")
	if s == "" {
		return defaultPageSize
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageSize {
		q.fail(errs.Invalid("limit", "must be an integer from 1 to %d", maxPageSize))
	}
	return n
}

func (q *query) boolean(name string) bool {
	s := q.v.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(errs.Invalid(name, "must be true or false"))
	}
	return b
}

func (q *query) int64(name string) int64 {
	s := q.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		q.fail(errs.Invalid(name, "must be a positive integer"))
	}
	return n
}

func (q *query) time(name string) *time.Time {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(errs.Invalid(name, "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z"))
		return nil
	}
	return &t
}
