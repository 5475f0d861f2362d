package main

import (
	"fmt"
	"time"
)

// providerSignIn measures a complete provider sign-in's server-side cost
// with internal/app's BenchmarkProviderSignIn: a returning user in token
// mode, through start, the provider's authorization, the callback (which
// calls the provider's token endpoint) and the exchange at /auth/token,
// against a real OpenID Connect provider on loopback in the benchmark's
// process (oidctest.Scripted). Gatehouse's time excludes the provider's:
// its authorization request, and the token call the callback makes, timed
// at the HTTP client Gatehouse uses for providers.
func (h *harness) providerSignIn(b string) {
	id := b + "/provider-signin"
	if b != "sqlite" || !h.wants(id) {
		return
	}
	const name = "BenchmarkProviderSignIn"
	fmt.Printf("\n== a provider sign-in's server-side cost on %s (go test -bench %s ./internal/app/) ==\n", backendLabel(b), name)
	h.interleave(job{id: id,
		what: "a provider sign-in (start, callback, exchange at /auth/token; returning user, token mode), Gatehouse's time per sign-in without the provider's, one at a time",
		run: func(int) (Measure, error) {
			lines, err := h.runBench("app", "^"+name+"$", "", h.o.duration, 1)
			if err != nil {
				return Measure{}, fmt.Errorf("%w: %s", errSkip, firstFailure(err.Error()))
			}
			for _, l := range lines {
				if l.name == name {
					return Measure{Ops: l.n, Extra: map[string]float64{
						"gatehouse_ms": l.metrics["gatehouse-µs/signin"] / 1000, "callback_ms": l.metrics["callback-µs"] / 1000,
						"loop_ms": l.metrics["ns/op"] / float64(time.Millisecond)}}, nil
				}
			}
			return Measure{}, fmt.Errorf("go test -bench %s printed no result", name)
		}})
}
