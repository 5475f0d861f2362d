package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var opBackfillSkeletons = op{name: "backfill username skeletons"}

// backfillSkeletons sets the username_skeleton of the users that lack one
// (those created before migration 0004), oldest first. A user whose name
// looks like an older user's keeps no skeleton: both accounts go on
// working, and a warning names it. It runs after every Migrate; once every
// row has its skeleton it is one indexed query that finds nothing.
func (s *Store) backfillSkeletons(ctx context.Context) error {
	type row struct{ id, name string }
	rows, err := s.write().QueryContext(ctx,
		`SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY id`)
	if err != nil {
		return s.fail(opBackfillSkeletons, err)
	}
	users, err := collect(rows, func(r scanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.name)
	})
	if err != nil {
		return s.fail(opBackfillSkeletons, err)
	}
	for _, u := range users {
		_, err := s.write().ExecContext(ctx, `UPDATE users SET username_skeleton = $2
			WHERE id = $1 AND username_skeleton IS NULL`, u.id, auth.UsernameSkeleton(u.name))
		if s.classify(err) == kindConflict {
			s.log.Warn("a username looks like an older one; it keeps working, but it reserves no look-alikes",
				"user_id", u.id)
			continue
		}
		if err != nil {
			return s.fail(opBackfillSkeletons, err)
		}
	}
	return nil
}
