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

// BenchmarkRecordAudit records the event of a refresh, as every refresh
// does after its rotation.
//
//	go test -run '^$' -bench RecordAudit ./internal/sqlstore/
func BenchmarkRecordAudit(b *testing.B) {
	bench := func(b *testing.B, s *Store) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			e := auth.AuditEvent{
				Event: auth.AuditRefreshed, UserID: "01a22f54-4a43-7bf8-9e37-fc38b79d672c", Username: "alice",
				SessionID: "yjQkl7aA5x_3eSk0PqiEpw", IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Detail: "rotated",
			}
			if err := s.RecordAudit(ctx, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("sqlite", func(b *testing.B) { bench(b, closeAtEnd(b, newSQLite(b))) })
	b.Run("postgres", func(b *testing.B) { bench(b, closeAtEnd(b, newPostgres(b, postgresURL(b)))) })
}
