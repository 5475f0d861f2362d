package app

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/server"
)

// metrics holds the registry of the process's metrics, made on first use.
type metrics struct {
	once sync.Once
	reg  *prometheus.Registry
}

func (m *metrics) registry() *prometheus.Registry {
	m.once.Do(func() { m.reg = prometheus.NewRegistry() })
	return m.reg
}

// MetricsHandler serves the metrics of the API that Handler returns (and
// the Go runtime's and the process's) at GET /metrics, for the listener of
// GATEHOUSE_METRICS_ADDR; with that set, the API answers /metrics 404.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", server.MetricsHandler(a.registry()))
	return mux
}
