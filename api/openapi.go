package api

import (
	_ "embed"
	"net/http"
)

// openAPISpec is the OpenAPI 3 description of this API. api/openapi_test.go
// fails when a route is missing from it.
//
//go:embed openapi.json
var openAPISpec []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPISpec)
}
