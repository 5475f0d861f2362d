package app

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/gatehouse/gatehouse/internal/server"
)

// Every request the tests of this package send to Gatehouse, and every
// answer it gives, is validated against the OpenAPI document
// (internal/server/openapi.json): the servers the tests start wrap the
// handler with validated, so a client of any kind (e.do, verify's poller,
// go-oidc) is covered, and the document cannot drift from the code.
//
// A test that sends a deliberately malformed request (bad JSON, a missing
// credential, an unknown route) says so with e.invalid(reason), which sends
// invalidHeader; the request must then fail validation (a stale mark fails
// the test too), and its answer is still validated: against the operation
// when the route is documented, else against the document's Error schema.

// invalidHeader marks a request as deliberately invalid; validated strips
// it before Gatehouse sees the request.
const invalidHeader = "Gatehouse-Test-Invalid"

// contract is the validator of the document, built once.
var contract = sync.OnceValues(func() (*apiContract, error) {
	doc, err := libopenapi.NewDocument(server.OpenAPIDocument())
	if err != nil {
		return nil, err
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	v := validator.NewValidatorFromV3Model(&m.Model,
		config.WithURLEncodedBodyValidation(),
		config.WithFormatAssertions(),
		config.WithStrictMode(),
		// A browser sends its cookies to every path; the ones Gatehouse
		// reads are its security schemes.
		config.WithStrictIgnorePaths("$.cookies.*",
			// GET /openapi.json: the document's own contents are checked
			// by package server's TestOpenAPIDocumentIsValid.
			"$.body.info.**", "$.body.servers**", "$.body.tags**", "$.body.paths**", "$.body.components**"),
		// Headers every answer carries (the document says so once) and
		// those only browsers send.
		config.WithStrictIgnoredHeadersExtra(
			"x-content-type-options", "referrer-policy", "x-frame-options", "content-security-policy",
			"strict-transport-security", "cross-origin-opener-policy", "cross-origin-resource-policy",
			"permissions-policy", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest",
			"access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers",
		),
	)
	errSchema := m.Model.Components.Schemas.GetOrZero("Error")
	if errSchema == nil {
		return nil, fmt.Errorf("openapi.json has no Error schema")
	}
	return &apiContract{v: v, errorSchema: errSchema.Schema()}, nil
})

type apiContract struct {
	// mu serializes validation: the validator compiles a schema on first
	// use, and libopenapi's rendering of a schema for that is not safe
	// for concurrent use (the race detector catches it on the first
	// concurrent answers of one operation).
	mu          sync.Mutex
	v           validator.Validator
	errorSchema *base.Schema
}

// newServer starts h behind validated.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	return httptest.NewServer(validated(t, h))
}

// reporter is where validated reports a mismatch: the test's *testing.T
// (Errorf is safe from the server's goroutines).
type reporter interface {
	Errorf(format string, args ...any)
}

// validated wraps Gatehouse's handler: it checks each request before h
// sees it and each answer after h wrote it, and fails t on a mismatch.
func validated(t reporter, h http.Handler) http.Handler {
	c, err := contract()
	if err != nil {
		t.Errorf("openapi.json: %v", err)
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := r.Header.Get(invalidHeader)
		r.Header.Del(invalidHeader)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("%s %s: reading the body: %v", r.Method, r.URL, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.checkRequest(t, r.Clone(r.Context()), body, reason)

		rec := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		c.checkResponse(t, r.Clone(r.Context()), body, rec, reason != "")
	})
}

func (c *apiContract) checkRequest(t reporter, r *http.Request, body []byte, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := c.v.ValidateHttpRequestSync(r)
	switch {
	case strings.HasPrefix(reason, anyRequest):
		// hostile input: may or may not match; only the answer counts
	case !ok && reason == "":
		t.Errorf("request %s %s does not match openapi.json:\n%s", r.Method, r.URL.RequestURI(), describe(errs))
	case ok && reason != "":
		t.Errorf("request %s %s is marked invalid (%s) but matches openapi.json: remove the mark", r.Method, r.URL.RequestURI(), reason)
	}
}

func (c *apiContract) checkResponse(t reporter, r *http.Request, body []byte, rec *teeWriter, invalid bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	res := &http.Response{
		StatusCode: rec.status(), Header: rec.header(), Request: r,
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())),
	}
	ok, errs := c.v.ValidateHttpResponse(r, res)
	if !ok && invalid && unrouted(errs) {
		ok, errs = c.checkUnrouted(r, res, rec.body.Bytes())
	}
	if !ok {
		t.Errorf("answer %d to %s %s does not match openapi.json:\n%s\nbody: %.300s",
			res.StatusCode, r.Method, r.URL.RequestURI(), describe(errs), rec.body.Bytes())
	}
}

// checkUnrouted checks the answer to a request that no operation of the
// document takes: a CORS preflight's empty 204, the mux's redirect to a
// clean path, or else an Error (404, 405 with Allow, a refused preflight).
func (c *apiContract) checkUnrouted(r *http.Request, res *http.Response, body []byte) (bool, []*liberrors.ValidationError) {
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	switch {
	case preflight && res.StatusCode == http.StatusNoContent && len(body) == 0:
		return true, nil
	case res.StatusCode >= 300 && res.StatusCode < 400 && res.Header.Get("Location") != "":
		return true, nil
	case res.StatusCode == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "":
		return false, []*liberrors.ValidationError{{Message: "405 without Allow"}}
	}
	return schema_validation.NewSchemaValidator().ValidateSchemaBytesWithVersion(c.errorSchema, body, 3.1)
}

// unrouted reports whether errs say the document has no operation for
// the request.
func unrouted(errs []*liberrors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation {
			return true
		}
	}
	return false
}

func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %s: %s\n", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "    %s (%s): %s\n", s.FieldPath, s.KeywordLocation, s.Reason)
		}
	}
	return b.String()
}

// teeWriter passes an answer on and keeps a copy: the status and headers
// as they were when the status was written, and the body.
type teeWriter struct {
	http.ResponseWriter
	code int
	hdr  http.Header
	body bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code, w.hdr = code, w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *teeWriter) header() http.Header {
	if w.hdr == nil {
		return w.ResponseWriter.Header().Clone()
	}
	return w.hdr
}

// anyRequest starts the mark of a request that may or may not be what the
// document allows (hostile input by the thousand): its answer is checked,
// not the request.
const anyRequest = "?"

// hostile returns e for requests of hostile input, which the document may
// or may not allow: only their answers are checked.
func (e *env) hostile() *env { return e.invalid(anyRequest + "hostile input") }

// invalid returns e for one request that is deliberately not what the
// document allows (say why): e.invalid("not JSON").do(…).
func (e *env) invalid(reason string) *env {
	c := *e
	c.invalidReason = reason
	return &c
}
