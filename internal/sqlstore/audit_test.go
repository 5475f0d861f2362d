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

// TestMutationsWriteTheirAuditEvents: every audited mutation writes the
// events of its Effects in its own transaction, stamped with what it
// touched; when the insert fails, that alone is undone and reported to
// AuditFailed, and the change commits.
func TestMutationsWriteTheirAuditEvents(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		s := closeAtEnd(t, openMigrated(t, url))
		ctx := context.Background()
		var failed []auth.AuditEvent
		fx := func(name auth.AuditEventName) auth.Effects {
			return auth.Effects{
				Audit:       []auth.AuditEvent{{Event: name}},
				AuditFailed: func(e auth.AuditEvent, _ error) { failed = append(failed, e) },
			}
		}
		now := time.Now().Truncate(time.Millisecond)
		rotation := func(from, to string) auth.Rotation {
			return auth.Rotation{PresentedHash: from, NewHash: to, Now: now, SessionTTL: time.Hour,
				RevokeUntil: now.Add(time.Hour), Renewed: fx(auth.AuditRefreshed), Reused: fx(auth.AuditRefreshReused)}
		}
		// run makes every kind of audited change once, for a user named
		// name, and returns that user.
		run := func(name string) auth.User {
			t.Helper()
			u := auth.User{Username: name, Role: auth.RoleUser, Active: true, PasswordHash: "$argon2id$v=19$x"}
			must(t, s.CreateUser(ctx, &u, fx(auth.AuditUserCreated)))
			sess := auth.Session{ID: "sess-" + name, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			must(t, s.CreateSession(ctx, sess, name+"-0", fx(auth.AuditLoginSucceeded)))
			res, err := s.RotateRefreshToken(ctx, rotation(name+"-0", name+"-1"))
			must(t, err)
			if res.Outcome != auth.Rotated {
				t.Fatalf("rotation: %v", res.Outcome)
			}
			// The same token after the (zero) reuse interval: reused.
			res, err = s.RotateRefreshToken(ctx, rotation(name+"-0", name+"-2"))
			must(t, err)
			if res.Outcome != auth.Reused {
				t.Fatalf("second rotation: %v", res.Outcome)
			}
			role := auth.RoleAdmin
			_, _, err = s.UpdateUser(ctx, u.ID, auth.UserUpdate{Role: &role}, auth.EndSessions{All: true}, now.Add(time.Hour), fx(auth.AuditUserUpdated))
			must(t, err)
			_, err = s.RevokeToken(ctx, "jti-"+name, now.Add(time.Hour), fx(auth.AuditRevoked))
			must(t, err)
			_, err = s.RevokeSessions(ctx, auth.SessionFilter{UserID: u.ID}, now.Add(time.Hour), fx(auth.AuditLogout))
			must(t, err)
			_, err = s.DeleteUser(ctx, u.ID, now.Add(time.Hour), false, fx(auth.AuditUserDeleted))
			must(t, err)
			return u
		}
		u := run("audra")
		got, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 20})
		must(t, err)
		want := []struct {
			event           auth.AuditEventName
			user, sess, det string
		}{
			{auth.AuditUserDeleted, u.ID, "", "sessions_ended=0"},
			{auth.AuditLogout, u.ID, "", "sessions_ended=0"},
			{auth.AuditRevoked, "", "", ""},
			{auth.AuditUserUpdated, u.ID, "", "sessions_ended=0"},
			{auth.AuditRefreshReused, u.ID, "sess-audra", "reused"},
			{auth.AuditRefreshed, u.ID, "sess-audra", "rotated"},
			{auth.AuditLoginSucceeded, u.ID, "sess-audra", ""},
			{auth.AuditUserCreated, u.ID, "", ""},
		}
		if len(got) != len(want) {
			t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			e := got[i]
			if e.Event != w.event || e.UserID != w.user || e.SessionID != w.sess || e.Detail != w.det {
				t.Errorf("event %d = %s user=%q session=%q detail=%q, want %+v", i, e.Event, e.UserID, e.SessionID, e.Detail, w)
			}
		}
		if len(failed) != 0 {
			t.Fatalf("AuditFailed called for %+v", failed)
		}

		// Without the audit table, every change still commits, and each of
		// its events is reported.
		if _, err := s.w.ExecContext(ctx, `DROP TABLE audit_events`); err != nil {
			t.Fatal(err)
		}
		v := run("vera")
		if _, err := s.UserByID(ctx, v.ID); auth.ErrorCode(err) != auth.ENotFound {
			t.Fatalf("the user whose events failed was not deleted: %v", err)
		}
		if len(failed) != len(want) {
			t.Fatalf("AuditFailed told of %d events, want %d", len(failed), len(want))
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
