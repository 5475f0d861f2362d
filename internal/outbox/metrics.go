package outbox

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// metrics are the sender's Prometheus metrics.
type metrics struct {
	depth   prometheus.Gauge
	sentBy  *prometheus.CounterVec
	retried prometheus.Counter
	failed  prometheus.Counter

	kinds sync.Map // auth.MailKind → prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_mail_queue_depth", Help: "Messages of the outbox waiting to be sent.",
		}),
		sentBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_mail_sent_total", Help: "Messages sent, by kind.",
		}, []string{"kind"}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_mail_retried_total", Help: "Deliveries that failed for now and are tried again later.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_mail_failed_total", Help: "Messages given up: a permanent failure, or too many temporary ones.",
		}),
	}
	if reg != nil {
		m.depth = register(reg, m.depth)
		m.sentBy = register(reg, m.sentBy)
		m.retried = register(reg, m.retried)
		m.failed = register(reg, m.failed)
	}
	return m
}

// sent counts a message of kind sent.
func (m *metrics) sent(kind auth.MailKind) {
	c, ok := m.kinds.Load(kind)
	if !ok {
		c, _ = m.kinds.LoadOrStore(kind, m.sentBy.WithLabelValues(string(kind)))
	}
	c.(prometheus.Counter).Inc()
}

// register adds c to reg, or returns the collector registered before
// under the same name (by another Sender of the process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	var are prometheus.AlreadyRegisteredError
	if err := reg.Register(c); errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
		panic(err)
	} else if err != nil {
		panic(err)
	}
	return c
}
