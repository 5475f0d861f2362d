package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var (
	opSigningKeys    = op{name: "signing keys"}
	opInitSigningKey = op{name: "init signing key", conflict: "Signing key already exists"}
	opRotateKey      = op{name: "rotate signing key", conflict: "Signing key already exists"}
)

const keyColumns = `id, algorithm, private_key, created_at, activates_at, expires_at`

func scanKey(row scanner) (auth.SigningKey, error) {
	var k auth.SigningKey
	var created, activates int64
	var expires sql.NullInt64
	err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &activates, &expires)
	k.CreatedAt, k.ActivatesAt, k.ExpiresAt = fromMS(created), fromMS(activates), fromNullMS(expires)
	return k, err
}

// SigningKeys returns every key that has not expired at now, ordered by
// ActivatesAt.
func (s *Store) SigningKeys(ctx context.Context, now time.Time) ([]auth.SigningKey, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys
		WHERE expires_at IS NULL OR expires_at > $1 ORDER BY activates_at, id`, ms(now))
	if err != nil {
		return nil, s.fail(opSigningKeys, err)
	}
	keys, err := collect(rows, scanKey)
	return keys, s.fail(opSigningKeys, err)
}

// insertKey inserts k. With DO NOTHING, it inserts nothing when a key of
// the same algorithm without an expiry exists (the unique index
// signing_keys_unexpired) or the kid is taken; the database decides, so
// two processes starting at once cannot both insert.
const insertKey = `INSERT INTO signing_keys (` + keyColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6)`

func keyArgs(k auth.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.PrivateKey, ms(k.CreatedAt), ms(k.ActivatesAt), nullMS(k.ExpiresAt)}
}

// InitSigningKey stores k unless a key of the same algorithm without an
// expiry exists (or k's id is taken), and reports whether it stored k.
// On PostgreSQL a stored key is announced on KeysChannel at commit.
func (s *Store) InitSigningKey(ctx context.Context, k auth.SigningKey) (bool, error) {
	var stored bool
	err := s.inTx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, insertKey+` ON CONFLICT DO NOTHING`, keyArgs(k)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		stored = n == 1
		if stored {
			return s.notifyKeys(ctx, tx)
		}
		return nil
	})
	return stored, s.fail(opInitSigningKey, err)
}

// notifyKeys sends the NOTIFY of a key change in tx, on PostgreSQL.
func (s *Store) notifyKeys(ctx context.Context, tx querier) error {
	if s.listenCfg == nil {
		return nil
	}
	return notifyKeys(ctx, tx)
}

// RotateSigningKey stores k and gives every other key without an expiry
// the expiry othersExpireAt, in one transaction. EConflict if k's id is
// taken. On PostgreSQL the rotation is announced on KeysChannel at commit.
func (s *Store) RotateSigningKey(ctx context.Context, k auth.SigningKey, othersExpireAt time.Time) error {
	err := s.inTx(ctx, func(tx querier) error {
		_, err := tx.ExecContext(ctx, `UPDATE signing_keys SET expires_at = $1
			WHERE expires_at IS NULL AND id <> $2`, ms(othersExpireAt), k.ID)
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, insertKey, keyArgs(k)...); err != nil {
			return err
		}
		return s.notifyKeys(ctx, tx)
	})
	return s.fail(opRotateKey, err)
}

var opReplacePrivateKey = op{name: "replace private key"}

// ReplacePrivateKey sets key id's private key bytes to to if they are
// still from, and reports whether it did.
func (s *Store) ReplacePrivateKey(ctx context.Context, id string, from, to []byte) (bool, error) {
	res, err := s.write().ExecContext(ctx, `UPDATE signing_keys SET private_key = $1
		WHERE id = $2 AND private_key = $3`, to, id, from)
	if err != nil {
		return false, s.fail(opReplacePrivateKey, err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.fail(opReplacePrivateKey, err)
}
