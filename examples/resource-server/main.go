// Command resource-server is a small service protected by Gatehouse: it
// verifies access tokens in-process with the verify package, finding the
// keys through the issuer's discovery document, and never calls Gatehouse
// per request.
//
//	go run ./cmd/gatehouse serve --demo &
//	ISSUER=http://127.0.0.1:8000 go run ./examples/resource-server
//	curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:9000/orders
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/gatehouse/gatehouse/verify"
)

func main() {
	issuer := envOr("ISSUER", "http://127.0.0.1:8000")
	v, err := verify.New(context.Background(), verify.Config{
		Issuer:     issuer,
		Algorithms: []string{envOr("ALG", "ES256")},
		Audience:   os.Getenv("AUDIENCE"),
	})
	if err != nil {
		log.Fatalf("verifier for %s: %v", issuer, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(listOrders)))
	mux.Handle("DELETE /orders/{id}", v.Middleware(verify.RequireRole("admin", http.HandlerFunc(deleteOrder))))
	addr := envOr("ADDR", "127.0.0.1:9000")
	log.Printf("resource server on http://%s, trusting %s", addr, issuer)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	c := verify.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"owner": c.Username, "orders": []string{}})
}

func deleteOrder(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
