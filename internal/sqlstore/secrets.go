package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var (
	opIssueSecret   = op{name: "issue secret", notFound: "User not found", conflict: "Secret already exists"}
	opLookupSecret  = op{name: "look up secret", notFound: "Secret not found"}
	opConsumeSecret = op{name: "consume secret", notFound: "Secret not found"}
	opFailSecret    = op{name: "count a wrong secret", notFound: "Secret not found"}
	opVoidSecrets   = op{name: "void secrets"}
	opCountSecrets  = op{name: "count secrets"}
)

const secretColumns = `purpose, hash, owner_id, data, created_at, expires_at, attempts_left, used_at`

// usableSecret is the condition of a secret that can still be consumed at
// $3; the statements below repeat it so that the database decides.
const usableSecret = `purpose = $1 AND hash = $2 AND used_at IS NULL AND expires_at > $3 AND attempts_left > 0`

func scanSecret(row scanner) (auth.OneTimeSecret, error) {
	var sec auth.OneTimeSecret
	var created, expires int64
	var used sql.NullInt64
	err := row.Scan(&sec.Purpose, &sec.Hash, &sec.OwnerID, &sec.Data, &created, &expires, &sec.AttemptsLeft, &used)
	sec.CreatedAt, sec.ExpiresAt, sec.UsedAt = fromMS(created), fromMS(expires), fromNullMS(used)
	return sec, err
}

// IssueSecret stores sec; with voidOthers, the owner's other usable
// secrets of its purpose are voided in the same transaction. ENotFound if
// the owner does not exist, EConflict if the hash is taken.
func (s *Store) IssueSecret(ctx context.Context, sec auth.OneTimeSecret, voidOthers bool) error {
	err := s.inTx(ctx, func(tx querier) error {
		if voidOthers {
			if _, err := voidSecrets(ctx, tx, sec.Purpose, sec.OwnerID, now()); err != nil {
				return err
			}
		}
		return s.issueSecret(ctx, tx, sec, now())
	})
	return s.fail(opIssueSecret, err)
}

func (s *Store) issueSecret(ctx context.Context, tx querier, sec auth.OneTimeSecret, t time.Time) error {
	if sec.CreatedAt.IsZero() {
		sec.CreatedAt = t
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO one_time_secrets (`+secretColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
		string(sec.Purpose), sec.Hash, sec.OwnerID, sec.Data, ms(sec.CreatedAt), ms(sec.ExpiresAt), sec.AttemptsLeft)
	return err
}

// LookupSecret returns the usable secret at now without consuming it.
// ENotFound.
func (s *Store) LookupSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error) {
	sec, err := scanSecret(s.read().QueryRowContext(ctx,
		`SELECT `+secretColumns+` FROM one_time_secrets WHERE `+usableSecret, string(purpose), hash, ms(now)))
	return sec, s.fail(opLookupSecret, err)
}

// ConsumeSecret uses a usable secret up with one conditional UPDATE: of
// concurrent calls, the database lets exactly one find used_at NULL.
// ENotFound for the others and for a secret that is not usable.
func (s *Store) ConsumeSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error) {
	sec, err := scanSecret(s.write().QueryRowContext(ctx,
		`UPDATE one_time_secrets SET used_at = $3 WHERE `+usableSecret+` RETURNING `+secretColumns,
		string(purpose), hash, ms(now)))
	sec.UsedAt = time.Time{} // as it was before this call
	return sec, s.fail(opConsumeSecret, err)
}

// FailSecretAttempt takes one attempt from a usable secret and returns
// how many are left. ENotFound if it is not usable.
func (s *Store) FailSecretAttempt(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (int, error) {
	var left int
	err := s.write().QueryRowContext(ctx,
		`UPDATE one_time_secrets SET attempts_left = attempts_left - 1 WHERE `+usableSecret+` RETURNING attempts_left`,
		string(purpose), hash, ms(now)).Scan(&left)
	return left, s.fail(opFailSecret, err)
}

// VoidSecrets voids the owner's usable secrets of a purpose.
func (s *Store) VoidSecrets(ctx context.Context, purpose auth.SecretPurpose, ownerID string, now time.Time) (int, error) {
	n, err := voidSecrets(ctx, s.write(), purpose, ownerID, now)
	return n, s.fail(opVoidSecrets, err)
}

func voidSecrets(ctx context.Context, q querier, purpose auth.SecretPurpose, ownerID string, now time.Time) (int, error) {
	res, err := q.ExecContext(ctx, `UPDATE one_time_secrets SET used_at = $3
		WHERE owner_id = $1 AND purpose = $2 AND used_at IS NULL`, ownerID, string(purpose), ms(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CountSecrets returns how many of owner's secrets of purpose are usable
// at now (unused, unexpired, with attempts left): the recovery codes left.
func (s *Store) CountSecrets(ctx context.Context, purpose auth.SecretPurpose, ownerID string, now time.Time) (int, error) {
	if unstorable(string(purpose), ownerID) {
		return 0, nil // no secret has such an owner
	}
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_secrets
		WHERE owner_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 AND attempts_left > 0`,
		ownerID, string(purpose), ms(now)).Scan(&n)
	return n, s.fail(opCountSecrets, err)
}
