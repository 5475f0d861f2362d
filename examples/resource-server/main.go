// Command resource-server is a small service protected by Gatehouse: it
// verifies access tokens in-process with the verify package, finding the
// keys through the issuer's discovery document, polls the issuer's
// revocation feed every second so that logged-out tokens are refused, and
// never calls Gatehouse per request.
//
//	go run ./cmd/gatehouse serve --demo &
//	ISSUER=http://127.0.0.1:8000 go run ./examples/resource-server
//	curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:9000/orders
//	curl http://127.0.0.1:9000/metrics   # revocations_staleness_seconds
//
// REVOCATIONS_TOKEN is the issuer's GATEHOUSE_REVOCATIONS_TOKEN, if set.
// MAX_STALENESS (a Go duration, such as 5m) makes the service fail closed:
// every token is refused while the revocation list is older than that.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/verify"
)

func main() {
	ctx := context.Background()
	issuer := envOr("ISSUER", "http://127.0.0.1:8000")
	revoked, err := revocations(ctx, issuer)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(ctx, verify.Config{
		Issuer:      issuer,
		Algorithms:  []string{envOr("ALG", "ES256")},
		Audience:    os.Getenv("AUDIENCE"),
		Revocations: revoked,
	})
	if err != nil {
		log.Fatalf("verifier for %s: %v", issuer, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "revocations_staleness_seconds",
		Help: "Seconds since the revocation list was last synced with the issuer.",
	}, func() float64 { return revoked.Staleness().Seconds() }))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(listOrders)))
	mux.Handle("DELETE /orders/{id}", v.Middleware(verify.RequireRole("admin", http.HandlerFunc(deleteOrder))))
	addr := envOr("ADDR", "127.0.0.1:9000")
	log.Printf("resource server on http://%s, trusting %s", addr, issuer)
	log.Fatal(http.ListenAndServe(addr, mux))
}

// revocations loads the issuer's denylist and keeps it in step every
// second, in the background.
func revocations(ctx context.Context, issuer string) (*verify.RevocationPoller, error) {
	var opts []verify.PollerOption
	if tok := os.Getenv("REVOCATIONS_TOKEN"); tok != "" {
		opts = append(opts, verify.WithFeedToken(tok))
	}
	if s := os.Getenv("MAX_STALENESS"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithMaxStaleness(d))
	}
	p := verify.NewRevocationPoller(issuer, nil, opts...)
	if err := p.Sync(ctx); err != nil {
		return nil, err
	}
	go p.Run(ctx, time.Second)
	return p, nil
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
