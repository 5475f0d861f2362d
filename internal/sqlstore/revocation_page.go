package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var opRevocationsPage = op{name: "revocations page"}

// RevocationsPage returns at most limit revocations recorded after cursor
// that have not expired at now, in seq order. Next is the seq of the last
// one (cursor when there is none); More is set when the limit left some
// out. Reading one row past the limit tells that without a count. As for
// RevocationsSince, seq values become visible in order (see
// insertRevocations), so a reader that follows Next misses nothing.
func (s *Store) RevocationsPage(ctx context.Context, cursor int64, now time.Time, limit int) (auth.RevocationPage, error) {
	if limit < 1 {
		return auth.RevocationPage{}, auth.Errorf(auth.EInvalid, "revocations page: limit %d is not positive", limit)
	}
	rows, err := s.read().QueryContext(ctx, `SELECT seq, kind, id, expires_at FROM revocations
		WHERE seq > $1 AND expires_at > $2 ORDER BY seq LIMIT $3`, cursor, ms(now), limit+1)
	if err != nil {
		return auth.RevocationPage{}, s.fail(opRevocationsPage, err)
	}
	type entry struct {
		seq int64
		rev auth.Revocation
	}
	entries, err := collect(rows, func(row scanner) (entry, error) {
		var e entry
		var kind string
		var expires int64
		err := row.Scan(&e.seq, &kind, &e.rev.ID, &expires)
		e.rev.Kind, e.rev.ExpiresAt = auth.RevocationKind(kind), fromMS(expires)
		return e, err
	})
	if err != nil {
		return auth.RevocationPage{}, s.fail(opRevocationsPage, err)
	}
	page := auth.RevocationPage{Next: cursor, More: len(entries) > limit}
	entries = entries[:min(len(entries), limit)]
	page.Revocations = make([]auth.Revocation, 0, len(entries))
	for _, e := range entries {
		page.Revocations = append(page.Revocations, e.rev)
		page.Next = e.seq
	}
	return page, nil
}
