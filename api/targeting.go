package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// Targeting routes (issue 11): a flag's rules and prerequisites per
// environment, segments, "test a context", and attribute suggestions for
// the rule editor. Shapes: internal/model/targeting.go.

var (
	pSegment = []string{"project", "environment", "segment"}
)

func (s *Server) targetingRoutes(r chi.Router) {
	s.recent = newRecentAttributes()
	r.Get("/flags/{flag}/environments/{environment}/targeting", s.getTargeting())
	r.Put("/flags/{flag}/environments/{environment}/targeting", s.putTargeting())
	r.Get("/environments/{environment}/segments", s.listSegments())
	r.Post("/environments/{environment}/segments", s.createSegment())
	r.Get("/environments/{environment}/segments/{segment}", s.getSegment())
	r.Put("/environments/{environment}/segments/{segment}", s.updateSegment())
	r.Delete("/environments/{environment}/segments/{segment}", s.deleteSegment())
	r.Post("/environments/{environment}/evaluate", s.evaluateContext())
	r.Get("/environments/{environment}/attributes", s.listAttributes())
}

func (s *Server) getTargeting() http.HandlerFunc {
	return s.handle(200, pFlagEnv, func(r *http.Request, k []string) (any, error) {
		return s.store.GetTargeting(r.Context(), k[0], k[1], k[2])
	})
}

func (s *Server) putTargeting() http.HandlerFunc {
	return bodyHandler(s, 200, pFlagEnv, func(r *http.Request, k []string, in model.UpdateTargeting) (any, error) {
		return s.store.UpdateTargeting(r.Context(), k[0], k[1], k[2], in)
	})
}

// segmentList is the answer of GET .../segments.
type segmentList struct {
	Segments []model.SegmentSummary `json:"segments"`
}

func (s *Server) listSegments() http.HandlerFunc {
	return s.handle(200, pEnv, func(r *http.Request, k []string) (any, error) {
		ss, err := s.store.ListSegments(r.Context(), k[0], k[1])
		return segmentList{Segments: ss}, err
	})
}

// segmentBody decodes a segment body, which may be larger than other
// bodies (two lists of up to 200,000 ids).
func segmentBody(r *http.Request) (model.SaveSegment, error) {
	var in model.SaveSegment
	err := decodeMax(nil, r, &in, model.MaxSegmentBodyBytes)
	return in, err
}

func (s *Server) createSegment() http.HandlerFunc {
	return s.handle(201, pEnv, func(r *http.Request, k []string) (any, error) {
		in, err := segmentBody(r)
		if err != nil {
			return nil, err
		}
		return s.store.CreateSegment(r.Context(), k[0], k[1], in)
	})
}

func (s *Server) getSegment() http.HandlerFunc {
	return s.handle(200, pSegment, func(r *http.Request, k []string) (any, error) {
		return s.store.GetSegment(r.Context(), k[0], k[1], k[2])
	})
}

func (s *Server) updateSegment() http.HandlerFunc {
	return s.handle(200, pSegment, func(r *http.Request, k []string) (any, error) {
		in, err := segmentBody(r)
		if err != nil {
			return nil, err
		}
		return s.store.UpdateSegment(r.Context(), k[0], k[1], k[2], in)
	})
}

func (s *Server) deleteSegment() http.HandlerFunc {
	return s.handle(204, pSegment, func(r *http.Request, k []string) (any, error) {
		return nil, s.store.DeleteSegment(r.Context(), k[0], k[1], k[2])
	})
}

func (s *Server) evaluateContext() http.HandlerFunc {
	return bodyHandler(s, 200, pEnv, func(r *http.Request, k []string, in model.EvaluateContext) (any, error) {
		out, err := s.store.Evaluate(r.Context(), k[0], k[1], in)
		if err != nil {
			return nil, err
		}
		s.recent.record(k[0]+"/"+k[1], in.Context, time.Now())
		return out, nil
	})
}

// attribute is one suggestion of GET .../attributes.
type attribute struct {
	Name string `json:"name"`
	// Seen: "rules" (flag rules and experiment audiences), "segments"
	// (segment rules) or "contexts" (recently evaluated contexts only).
	Seen     string   `json:"seen"`
	Examples []string `json:"examples"`
}

type attributeList struct {
	Attributes []attribute `json:"attributes"`
}

func (s *Server) listAttributes() http.HandlerFunc {
	return s.handle(200, pEnv, func(r *http.Request, k []string) (any, error) {
		used, err := s.store.TargetingAttributes(r.Context(), k[0], k[1], maxAttributeExamples)
		if err != nil {
			return nil, err
		}
		out := attributeList{Attributes: make([]attribute, 0, len(used))}
		idx := map[string]int{}
		for _, a := range used {
			idx[a.Name] = len(out.Attributes)
			out.Attributes = append(out.Attributes, attribute{Name: a.Name, Seen: a.Seen, Examples: a.Examples})
		}
		for _, a := range s.recent.list(k[0]+"/"+k[1], time.Now()) {
			if i, ok := idx[a.Name]; ok {
				out.Attributes[i].Examples = mergeExamples(out.Attributes[i].Examples, a.Examples)
				continue
			}
			out.Attributes = append(out.Attributes, a)
		}
		slices.SortFunc(out.Attributes, func(a, b attribute) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	})
}

func mergeExamples(a, b []string) []string {
	for _, x := range b {
		if len(a) >= maxAttributeExamples {
			break
		}
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// Limits of the recently-seen attribute memory.
const (
	maxAttributeExamples = 5
	maxRecentAttributes  = 200 // names per environment
	maxExampleLen        = 100 // bytes; longer values are not kept as examples
	recentAttributeTTL   = 7 * 24 * time.Hour
)

// recentAttributes remembers, per environment, the attribute names of
// contexts evaluated through this manager's "test a context" endpoint,
// with a few example values, so the rule editor can suggest them. It is
// in memory (per manager process, lost on restart) and bounded: at most
// maxRecentAttributes names per environment (the least recently seen go
// first) and maxAttributeExamples examples each.
type recentAttributes struct {
	mu   sync.Mutex
	envs map[string]map[string]*seenAttribute
}

type seenAttribute struct {
	examples []string
	at       time.Time
}

func newRecentAttributes() *recentAttributes {
	return &recentAttributes{envs: map[string]map[string]*seenAttribute{}}
}

func (ra *recentAttributes) record(env string, ctx map[string]any, now time.Time) {
	if len(ctx) == 0 {
		return
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	names := ra.envs[env]
	if names == nil {
		names = map[string]*seenAttribute{}
		ra.envs[env] = names
	}
	for name, v := range ctx {
		if name == eval.TargetingKeyAttribute || v == nil {
			continue
		}
		a := names[name]
		if a == nil {
			if len(names) >= maxRecentAttributes {
				evictOldest(names)
			}
			a = &seenAttribute{examples: []string{}}
			names[name] = a
		}
		a.at = now
		for _, ex := range examplesOf(v) {
			if len(a.examples) >= maxAttributeExamples {
				break
			}
			if !slices.Contains(a.examples, ex) {
				a.examples = append(a.examples, ex)
			}
		}
	}
}

func evictOldest(names map[string]*seenAttribute) {
	oldest := ""
	for n, a := range names {
		if oldest == "" || a.at.Before(names[oldest].at) {
			oldest = n
		}
	}
	delete(names, oldest)
}

// examplesOf turns a context value into example strings (scalars, and
// the scalars of a list).
func examplesOf(v any) []string {
	var out []string
	add := func(x any) {
		s := ""
		switch y := x.(type) {
		case string:
			s = y
		case bool:
			s = strconv.FormatBool(y)
		case float64:
			s = strconv.FormatFloat(y, 'g', -1, 64)
		}
		if s != "" && len(s) <= maxExampleLen {
			out = append(out, s)
		}
	}
	if list, ok := v.([]any); ok {
		for _, x := range list {
			add(x)
		}
		return out
	}
	add(v)
	return out
}

func (ra *recentAttributes) list(env string, now time.Time) []attribute {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	var out []attribute
	for name, a := range ra.envs[env] {
		if now.Sub(a.at) > recentAttributeTTL {
			delete(ra.envs[env], name)
			continue
		}
		out = append(out, attribute{Name: name, Seen: "contexts", Examples: slices.Clone(a.examples)})
	}
	return out
}
