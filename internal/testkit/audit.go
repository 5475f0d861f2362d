package testkit

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// AuditLog is an auth.AuditStore in memory, for unit tests of the services
// that record events (an audit.Recorder over it). The store's own
// behaviour is tested by the conformance suite, not faked here.
type AuditLog struct {
	mu     sync.Mutex
	events []auth.AuditEvent
}

// RecordAudit keeps e, numbering it.
func (a *AuditLog) RecordAudit(_ context.Context, e *auth.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.ID = int64(len(a.events) + 1)
	a.events = append(a.events, *e)
	return nil
}

// AuditEvents returns every event kept, oldest first; the filter is not
// applied.
func (a *AuditLog) AuditEvents(context.Context, auth.AuditFilter) ([]auth.AuditEvent, error) {
	return a.All(), nil
}

// PruneAudit deletes nothing.
func (a *AuditLog) PruneAudit(context.Context, time.Time) (int64, error) { return 0, nil }

// All returns the events kept, oldest first.
func (a *AuditLog) All() []auth.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]auth.AuditEvent(nil), a.events...)
}
