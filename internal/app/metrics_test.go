package app

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every Prometheus user expects the Go runtime's and the process's
// metrics beside the server's own.
func TestMetricsIncludeRuntimeAndProcess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/metrics", "", nil)
	expect(t, r, 200, "")
	for _, want := range []string{"go_goroutines ", "go_memstats_alloc_bytes ", "go_gc_duration_seconds", "process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds "} {
		if !strings.Contains(string(r.body), "\n"+want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// With GATEHOUSE_METRICS_ADDR, /metrics leaves the API (404 there, so it
// need not face the internet) for a handler of its own, which has
// everything: the API's counters included.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MetricsAddr = "127.0.0.1:9100"
	e := start(t, cfg)
	r := e.do("GET", "/metrics", "", nil)
	expect(t, r, 404, "")
	if strings.Contains(string(r.body), "gatehouse_http_requests_total") {
		t.Fatalf("the API still serves metrics: %s", r.body)
	}
	e.login("bob", "password456")

	ms := httptest.NewServer(e.app.MetricsHandler())
	defer ms.Close()
	res, err := ms.Client().Get(ms.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`gatehouse_http_requests_total{code="200",route="POST /auth/login"} 1`, `gatehouse_http_requests_total{code="404",route="unmatched"} 1`, "\ngo_goroutines ", "\nprocess_cpu_seconds_total "} {
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("metrics listener: %d, lacks %s", res.StatusCode, want)
		}
	}
	res, err = ms.Client().Get(ms.URL + "/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("the metrics listener serves the API: %d", res.StatusCode)
	}
}
