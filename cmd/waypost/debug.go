package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/waypost/waypost/internal/httpserve"
)

// serveDebug serves Go's profiler on its own address (WAYPOST_DEBUG_ADDR),
// never on the public listeners.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	log.Info("profiling enabled", "addr", "http://"+addr+"/debug/pprof/")
	srv := httpserve.New(mux, nil, httpserve.Timeouts{})
	srv.Addr = addr
	if err := srv.ListenAndServe(); err != nil {
		log.Warn("profiling listener stopped", "err", err)
	}
}
