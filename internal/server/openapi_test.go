package server

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIDocumentIsValid checks the document against the OpenAPI 3.1
// specification's schema and that the library builds a model of it (every
// $ref resolves).
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(OpenAPIDocument())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
	}
}

// documentOperations lists the document's operations as route patterns
// ("GET /admin/users/{id}").
func documentOperations(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// tableRoutes reads the route patterns of the routes table in server.go:
// the first argument of every handle(…) and mux.Handle(…) call in routes.
func tableRoutes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if _, ok := n.(*ast.FuncLit); ok {
				return false // the handle helper's own body, and handlers
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 || !isRegistration(call.Fun) {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Fatalf("a route registered with a pattern that is not a literal: %#v", call.Args[0])
			}
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			routes = append(routes, p)
			return true
		})
	}
	if len(routes) == 0 {
		t.Fatal("no routes found in server.go's routes")
	}
	slices.Sort(routes)
	return routes
}

func isRegistration(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name == "handle"
	case *ast.SelectorExpr:
		return f.Sel.Name == "Handle" || f.Sel.Name == "HandleFunc"
	}
	return false
}

// documentPattern is how a route pattern of the table appears in the
// document: "/{$}" is the path "/" alone, and the page's files under the
// prefix "/assets/" are "/assets/{file}".
func documentPattern(route string) string {
	route = strings.Replace(route, "/{$}", "/", 1)
	if strings.HasSuffix(route, "/assets/") {
		route += "{file}"
	}
	return route
}

// TestOpenAPIDocumentsEveryRoute checks both directions: every route of
// the table is in the document, and every operation of the document is a
// route of the table.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var routes []string
	for _, r := range tableRoutes(t) {
		routes = append(routes, documentPattern(r))
	}
	ops := documentOperations(t)
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %q is not in openapi.json", r)
		}
	}
	for _, op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("openapi.json documents %q, which no route serves", op)
		}
	}
}

// TestOpenAPIOperationsAreRouted asks the server's own mux, with the web
// page on, which pattern each documented operation reaches: a path that
// the source test above reads right but the mux routes elsewhere (a typo
// in a parameter, a shadowing route) fails here.
func TestOpenAPIOperationsAreRouted(t *testing.T) {
	s := New(Config{WebPage: func(notFound http.Handler) http.Handler { return notFound }})
	mux := http.NewServeMux()
	s.routes(mux)
	for _, op := range documentOperations(t) {
		method, path, _ := strings.Cut(op, " ")
		concrete := strings.NewReplacer("{id}", "x1", "{file}", "page.js").Replace(path)
		_, pattern := mux.Handler(httptest.NewRequest(method, concrete, nil))
		if pattern == "" || documentPattern(pattern) != op {
			t.Errorf("%s %s reaches route %q, want %q", method, concrete, pattern, op)
		}
	}
}
