package sqlstore

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// TestBackfillSkeletons: users from before migration 0004 get their
// skeletons at the next Migrate, oldest first; a legacy look-alike keeps
// working without one, and new look-alikes are refused.
func TestBackfillSkeletons(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := closeAtEnd(t, openMigrated(t, url))
		alice := auth.User{Username: "alice", Role: auth.RoleUser, Active: true, PasswordHash: "h"}
		if err := s.CreateUser(ctx, &alice, auth.Effects{}); err != nil {
			t.Fatal(err)
		}
		// As before 0004: no skeletons, and a look-alike created later.
		if _, err := s.w.ExecContext(ctx, `UPDATE users SET username_skeleton = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO users
			(id, username, username_key, role, is_active, password_hash, created_at, updated_at)
			VALUES ('ffffffff-ffff-7fff-bfff-ffffffffffff', 'аlice', 'аlice', 'user', true, 'h', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		skel := map[string]*string{}
		rows, err := s.r.QueryContext(ctx, `SELECT username, username_skeleton FROM users`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var sk *string
			if err := rows.Scan(&name, &sk); err != nil {
				t.Fatal(err)
			}
			skel[name] = sk
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if sk := skel["alice"]; sk == nil || *sk != auth.UsernameSkeleton("alice") {
			t.Fatalf("alice's skeleton after Migrate: %v", sk)
		}
		if skel["аlice"] != nil {
			t.Fatalf("the legacy look-alike took a skeleton: %q", *skel["аlice"])
		}
		if _, err := s.UserByName(ctx, "аlice"); err != nil {
			t.Fatalf("the legacy look-alike no longer logs in: %v", err)
		}
		u := auth.User{Username: "alıce", Role: auth.RoleUser, Active: true, PasswordHash: "h"}
		if err := s.CreateUser(ctx, &u, auth.Effects{}); auth.ErrorCode(err) != auth.EConflict {
			t.Fatalf("CreateUser alıce after the backfill: %v, want EConflict", err)
		}
	})
}
