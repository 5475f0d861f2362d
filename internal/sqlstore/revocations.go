package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var (
	opRevokeToken      = op{name: "revoke token"}
	opRevocations      = op{name: "revocations"}
	opRevocationsSince = op{name: "revocations since"}
	opPrune            = op{name: "prune"}
)

// pruneEndedAfter is how long an ended session, and the refresh tokens
// that name it, are kept: a token presented in that time still finds its
// session (for the logs and for SessionByRefreshHash).
const pruneEndedAfter = 24 * time.Hour

// insertRevocations records one revocation per id, created at t. Callers
// run it as the last write of their transaction.
//
// A cursor reader (RevocationsSince) must never see seq n+1 committed
// before seq n, or it would skip n for good. On SQLite that holds because
// write transactions are serial. On PostgreSQL, seq values are handed out
// at insert time and transactions commit in any order, so the insertion
// and the commit are serialised with lockRevocations. Revocations are rare
// (logout, a user change, a reused token), so the lock costs little; it is
// taken after the transaction's row locks, and the holder takes none
// afterwards, so it cannot deadlock with them. On PostgreSQL the
// transaction also sends a NOTIFY, delivered at commit (see Listen).
func (s *Store) insertRevocations(ctx context.Context, tx querier, kind auth.RevocationKind, ids []string, until, t time.Time) ([]auth.Revocation, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.d.lock(ctx, tx, lockRevocations); err != nil {
		return nil, err
	}
	revs := make([]auth.Revocation, 0, len(ids))
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations (kind, id, expires_at, created_at)
			VALUES ($1, $2, $3, $4)`, string(kind), id, ms(until), ms(t))
		if err != nil {
			return nil, err
		}
		revs = append(revs, auth.Revocation{Kind: kind, ID: id, ExpiresAt: fromMS(ms(until))})
	}
	if s.listenCfg != nil {
		if err := notifyRevocations(ctx, tx); err != nil {
			return nil, err
		}
	}
	return revs, nil
}

// RevokeToken records the revocation of one access token id, with fx.
func (s *Store) RevokeToken(ctx context.Context, jti string, until time.Time, fx auth.Effects) (auth.Revocation, error) {
	if unstorable(jti) {
		return auth.Revocation{}, errUnstorable()
	}
	var revs []auth.Revocation
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		res, err := s.applyEffects(ctx, tx, fx, subject{}, t)
		if err != nil {
			return applied{}, err
		}
		revs, err = s.insertRevocations(ctx, tx, auth.RevokedToken, []string{jti}, until, t)
		return res, err
	})
	if err != nil {
		return auth.Revocation{}, s.fail(opRevokeToken, err)
	}
	return revs[0], nil
}

func scanRevocation(row scanner) (auth.Revocation, error) {
	var r auth.Revocation
	var kind string
	var expires int64
	err := row.Scan(&kind, &r.ID, &expires)
	r.Kind, r.ExpiresAt = auth.RevocationKind(kind), fromMS(expires)
	return r, err
}

// Revocations returns every revocation that has not expired at now, in
// seq order, and the cursor for RevocationsSince. The cursor is read first
// and bounds the list, so a revocation committed in between is not lost:
// the next RevocationsSince returns it.
func (s *Store) Revocations(ctx context.Context, now time.Time) ([]auth.Revocation, int64, error) {
	var cursor int64
	err := s.read().QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM revocations`).Scan(&cursor)
	if err != nil {
		return nil, 0, s.fail(opRevocations, err)
	}
	rows, err := s.read().QueryContext(ctx, `SELECT kind, id, expires_at FROM revocations
		WHERE seq <= $1 AND expires_at > $2 ORDER BY seq`, cursor, ms(now))
	if err != nil {
		return nil, 0, s.fail(opRevocations, err)
	}
	revs, err := collect(rows, scanRevocation)
	if err != nil {
		return nil, 0, s.fail(opRevocations, err)
	}
	return revs, cursor, nil
}

// RevocationsSince returns the revocations recorded after cursor, in the
// order they were recorded (expired ones included, until Prune removes
// them), and the cursor to use next time.
func (s *Store) RevocationsSince(ctx context.Context, cursor int64) ([]auth.Revocation, int64, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT seq, kind, id, expires_at FROM revocations
		WHERE seq > $1 ORDER BY seq`, cursor)
	if err != nil {
		return nil, 0, s.fail(opRevocationsSince, err)
	}
	next := cursor
	revs, err := collect(rows, func(row scanner) (auth.Revocation, error) {
		var r auth.Revocation
		var kind string
		var expires int64
		err := row.Scan(&next, &kind, &r.ID, &expires)
		r.Kind, r.ExpiresAt = auth.RevocationKind(kind), fromMS(expires)
		return r, err
	})
	if err != nil {
		return nil, 0, s.fail(opRevocationsSince, err)
	}
	return revs, next, nil
}

// The statements of Prune, in order, each deleting what ended before now
// minus its delay: refresh tokens go before their sessions so that the
// count includes them.
var pruneSteps = []struct {
	query string
	delay time.Duration
}{
	{`DELETE FROM revocations WHERE expires_at <= $1`, 0},
	{`DELETE FROM one_time_secrets WHERE expires_at <= $1`, pruneEndedAfter},
	{`DELETE FROM oauth_states WHERE expires_at <= $1`, pruneEndedAfter},
	{`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions
		WHERE expires_at <= $1 OR revoked_at <= $1)`, pruneEndedAfter},
	{`DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <= $1`, pruneEndedAfter},
}

// Prune deletes the revocations expired at now, the one-time secrets and
// the sessions (with
// their refresh tokens) that expired or were revoked more than a day
// before now. It returns how many rows it removed.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(tx querier) error {
		total = 0
		for _, step := range pruneSteps {
			res, err := tx.ExecContext(ctx, step.query, ms(now.Add(-step.delay)))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, s.fail(opPrune, err)
}
