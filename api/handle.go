package api

import "net/http"

// handle runs fn with the route keys and answers its result as JSON with
// status (or the error).
func (s *Server) handle(status int, names []string, fn func(r *http.Request, keys []string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys, err := pathKeys(r, names...)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out, err := fn(r, keys)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, status, out)
	}
}

// bodyHandler is handle with a decoded JSON body of type T.
func bodyHandler[T any](s *Server, status int, names []string, fn func(r *http.Request, keys []string, in T) (any, error)) http.HandlerFunc {
	return s.handle(status, names, func(r *http.Request, keys []string) (any, error) {
		var in T
		if err := decode(nil, r, &in); err != nil {
			return nil, err
		}
		return fn(r, keys, in)
	})
}
