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

// TestRotationWritesItsAuditEvent: the event a rotation's Audit returns is
// written in the rotation's transaction, from its outcome; when the insert
// fails, that alone is undone and reported, and the rotation stands.
func TestRotationWritesItsAuditEvent(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		s := closeAtEnd(t, openMigrated(t, url))
		ctx := context.Background()
		u := auth.User{Username: "audra", Role: auth.RoleUser, Active: true, PasswordHash: "$argon2id$v=19$x"}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Millisecond)
		sess := auth.Session{ID: "sess-audit", UserID: u.ID, CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess, "hash-0"); err != nil {
			t.Fatal(err)
		}
		event := func(res auth.RotationResult) *auth.AuditEvent {
			return &auth.AuditEvent{Time: now, Event: auth.AuditRefreshed, UserID: res.User.ID,
				Username: res.User.Username, SessionID: res.Session.ID, Detail: res.Outcome.String()}
		}
		rot := func(from, to string, audit func(auth.RotationResult) *auth.AuditEvent) auth.RotationResult {
			t.Helper()
			res, err := s.RotateRefreshToken(ctx, auth.Rotation{PresentedHash: from, NewHash: to, Now: now,
				SessionTTL: time.Hour, RevokeUntil: now.Add(time.Hour), Audit: audit})
			if err != nil {
				t.Fatalf("rotate %s: %v", from, err)
			}
			return res
		}
		if res := rot("hash-0", "hash-1", event); res.AuditErr != nil {
			t.Fatal(res.AuditErr)
		}
		got, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
		if err != nil || len(got) != 1 || got[0].Event != auth.AuditRefreshed || got[0].UserID != u.ID ||
			got[0].SessionID != sess.ID || got[0].Detail != "rotated" || !got[0].Time.Equal(now) {
			t.Fatalf("events after a rotation: %+v, %v", got, err)
		}
		rot("hash-1", "hash-2", func(auth.RotationResult) *auth.AuditEvent { return nil })
		if got, _ := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10}); len(got) != 1 {
			t.Fatalf("an Audit that returns nil wrote %d events", len(got)-1)
		}

		if _, err := s.w.ExecContext(ctx, `DROP TABLE audit_events`); err != nil {
			t.Fatal(err)
		}
		res := rot("hash-2", "hash-3", event)
		if res.AuditErr == nil || res.Outcome != auth.Rotated {
			t.Fatalf("rotation without an audit table: %+v", res)
		}
		// The rotation committed: hash-3 is the live token.
		if res := rot("hash-3", "hash-4", nil); res.Outcome != auth.Rotated {
			t.Fatalf("the token of the rotation whose event failed: %+v", res)
		}
	})
}
