package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// TestPruneAuditInBatches prunes more rows than one batch deletes.
func TestPruneAuditInBatches(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		s := closeAtEnd(t, openMigrated(t, url))
		ctx := context.Background()
		const rows = pruneAuditBatch*2 + 3
		old := time.Now().Add(-48 * time.Hour)
		_, err := s.w.ExecContext(ctx, `INSERT INTO audit_events (created_at, event)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
			SELECT CAST($2 AS BIGINT) + i, 'login.failed' FROM n`, rows, ms(old))
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
		keep := auth.AuditEvent{Event: auth.AuditLoginSucceeded}
		if err := s.RecordAudit(ctx, &keep); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneAudit(ctx, time.Now().Add(-time.Hour))
		if err != nil || n != rows {
			t.Fatalf("PruneAudit = %d, %v; want %d", n, err, rows)
		}
		left, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
		if err != nil || len(left) != 1 || left[0].ID != keep.ID {
			t.Fatalf("left after pruning: %+v, %v", left, err)
		}
	})
}
