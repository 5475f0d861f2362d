package server

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 document of the whole HTTP API. The
// end-to-end tests validate every request and response they make against
// it, and a test in this package checks that its paths and the routes
// table are the same set, so it cannot drift from the code.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document that GET /openapi.json
// serves. The caller must not change it.
func OpenAPIDocument() []byte { return openAPIDocument }

// openAPI: GET /openapi.json → the document. It changes only with the
// binary, so a client may keep it for an hour.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h["Content-Type"] = jsonType
	h.Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(openAPIDocument)
	return err
}
