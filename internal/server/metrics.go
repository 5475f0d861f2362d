package server

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/verify"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejects  *prometheus.CounterVec

	// series caches each route's and status's counter and histogram: a
	// lookup by labels hashes them on every request.
	series sync.Map // routeStatus → *routeSeries
}

type routeStatus struct {
	route  string
	status int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one request of route answered with status in d.
func (m *metrics) observe(route string, status int, d time.Duration) {
	k := routeStatus{route, status}
	v, ok := m.series.Load(k)
	if !ok {
		v, _ = m.series.LoadOrStore(k, &routeSeries{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	rs := v.(*routeSeries)
	rs.requests.Inc()
	rs.duration.Observe(d.Seconds())
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_tokens_rejected_total", Help: "Access tokens rejected, by reason.",
		}, []string{"reason"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.rejects = register(reg, m.rejects)
	// The Go runtime's and the process's metrics (go_*, process_*), which
	// every Prometheus user expects next to the server's own.
	register(reg, collectors.NewGoCollector())
	register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// register adds c to reg, or returns the same collector registered before
// (by another Server on the same registry).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	var are prometheus.AlreadyRegisteredError
	if err := reg.Register(c); errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
	} else if err != nil {
		panic(err) // a programming error: an invalid metric
	}
	return c
}

// MetricsHandler serves reg in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

var rejectReasons = []struct {
	err    error
	reason string
}{
	{verify.ErrRevoked, "revoked"},
	{verify.ErrExpired, "expired"},
	{verify.ErrSignature, "signature"},
	{verify.ErrAlgorithm, "algorithm"},
	{verify.ErrUnknownKey, "unknown_key"},
	{verify.ErrTokenType, "type"},
	{verify.ErrIssuer, "issuer"},
	{verify.ErrAudience, "audience"},
	{verify.ErrNotYetValid, "not_yet_valid"},
}

// untrusted counts a correctly signed access token that the store does
// not stand behind (its user or session missing, ended or another's).
func (m *metrics) untrusted() { m.rejects.WithLabelValues("untrusted").Inc() }

// rejected counts a refused access token by its first reason.
func (m *metrics) rejected(err error) {
	for _, r := range rejectReasons {
		if errors.Is(err, r.err) {
			m.rejects.WithLabelValues(r.reason).Inc()
			return
		}
	}
	m.rejects.WithLabelValues("malformed").Inc()
}

// instrument counts requests and their latency by route pattern.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if s.cfg.Requests != nil {
			s.cfg.Requests.Add(1)
		}
		sw := statusWriters.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" { // "/" is the catch-all
			route = "unmatched"
		}
		s.metrics.observe(route, sw.status, time.Since(start))
		*sw = statusWriter{}
		statusWriters.Put(sw) // no handler keeps its writer once it has returned
	})
}

// statusWriters are reused: one per request would be an allocation on
// every request.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
