package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/google/uuid"
)

// The outbox (migration 0006). A message is written by the transaction of
// the change it tells of (Effects.Mail) or by EnqueueMail; a sender claims
// due messages with a lease (ClaimMail), sends them outside any
// transaction, and records the outcome with the lease (MarkMailSent,
// RetryMail, FailMail, ReplaceMail), which succeeds only while the
// message is still pending under that lease. A sender that dies leaves
// its claims to expire; the next claim after lease_until takes them.

var (
	opEnqueueMail  = op{name: "enqueue mail", notFound: "User not found", conflict: "Message already exists"}
	opClaimMail    = op{name: "claim mail"}
	opMarkMailSent = op{name: "mark mail sent", notFound: errNotClaimed}
	opRetryMail    = op{name: "retry mail", notFound: errNotClaimed}
	opFailMail     = op{name: "fail mail", notFound: errNotClaimed}
	opReplaceMail  = op{name: "replace mail", notFound: errNotClaimed}
	opListMail     = op{name: "list mail"}
	opCountMail    = op{name: "count mail"}
	opPruneMail    = op{name: "prune mail"}
)

// errNotClaimed is the message of an outcome recorded without the lease:
// the message is unknown, no longer pending, or claimed by someone else.
const errNotClaimed = "Message not claimed"

const mailColumns = `id, message_id, kind, recipient, user_id, subject, body_text, body_html,
	state, attempts, last_error, created_at, next_attempt_at, sent_at, lease`

// messageIDDomain completes the Message-ID of a message stored without one.
const messageIDDomain = "@gatehouse.invalid"

// maxLastError bounds the stored error of an attempt, in bytes.
const maxLastError = 1000

// pruneMailBatch is how many rows one statement of PruneMail deletes.
const pruneMailBatch = 5000

func scanMail(row scanner) (auth.Mail, error) {
	var m auth.Mail
	var kind, state string
	var created, next int64
	var sent sql.NullInt64
	err := row.Scan(&m.ID, &m.MessageID, &kind, &m.To, &m.UserID, &m.Subject, &m.Text, &m.HTML,
		&state, &m.Attempts, &m.LastError, &created, &next, &sent, &m.Lease)
	m.Kind, m.State = auth.MailKind(kind), auth.MailState(state)
	m.CreatedAt, m.NextAttemptAt, m.SentAt = fromMS(created), fromMS(next), fromNullMS(sent)
	return m, err
}

// insertMail stores m in tx as a new pending message due at t: an id
// (UUIDv7) and a Message-ID (the id at gatehouse.invalid) are made up
// where m has none, and whatever m says of its state is ignored. EInvalid
// for a message without a kind or a recipient, or with text that no store
// keeps; EConflict for an id that is taken.
func (s *Store) insertMail(ctx context.Context, tx querier, m auth.Mail, t time.Time) error {
	if unstorable(m.ID, m.MessageID, string(m.Kind), m.To, m.UserID, m.Subject, m.Text, m.HTML) {
		return errUnstorable()
	}
	if m.Kind == "" || m.To == "" {
		return auth.Errorf(auth.EInvalid, "A message needs a kind and a recipient")
	}
	if m.ID == "" {
		v7, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("sqlstore: new message id: %w", err)
		}
		m.ID = v7.String()
	}
	if m.MessageID == "" {
		m.MessageID = m.ID + messageIDDomain
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox
		(id, message_id, kind, recipient, user_id, subject, body_text, body_html, state, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		m.ID, m.MessageID, string(m.Kind), m.To, m.UserID, m.Subject, m.Text, m.HTML, string(auth.MailPending), ms(t))
	if s.classify(err) == kindConflict {
		// Not the change's own conflict (a taken username): say what it is.
		return auth.Wrap(auth.EConflict, err, "Message already exists")
	}
	return err
}

// subjectOfUser is the subject of a change to the user id ("" for none),
// with the username when the user still exists, for the audit events.
func subjectOfUser(ctx context.Context, tx querier, id string) (subject, error) {
	if id == "" {
		return subject{}, nil
	}
	sub := subject{userID: id}
	err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, id).Scan(&sub.username)
	if errors.Is(err, sql.ErrNoRows) { // a message may outlive its user
		err = nil
	}
	return sub, err
}

// effectsOf writes fx as a change to the user id. A secret of a user who
// is gone is ENotFound "User not found", not the op's own ENotFound.
func (s *Store) effectsOf(ctx context.Context, tx querier, fx auth.Effects, id string, t time.Time) (applied, error) {
	sub, err := subjectOfUser(ctx, tx, id)
	if err != nil {
		return applied{}, err
	}
	res, err := s.applyEffects(ctx, tx, fx, sub, t)
	if s.classify(err) == kindMissingRef {
		return applied{}, auth.Wrap(auth.ENotFound, err, "User not found")
	}
	return res, err
}

// EnqueueMail stores m, pending and due now, with fx, whose audit events
// and secrets are m.UserID's. EInvalid for a message without a kind or a
// recipient; EConflict if m.ID is taken.
func (s *Store) EnqueueMail(ctx context.Context, m auth.Mail, fx auth.Effects) error {
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		if err := s.insertMail(ctx, tx, m, t); err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, m.UserID, t)
	})
	return s.fail(opEnqueueMail, err)
}

// claimMail leases due messages: $1 the lease, $2 its end, $3 now, $4 the
// limit. The subquery picks them; on PostgreSQL it locks them and skips
// those that a concurrent claim has locked, and a row that a claim
// committed meanwhile is checked again and left out, its lease_until
// being ahead.
const claimMail = `UPDATE outbox SET lease = $1, lease_until = $2
	WHERE id IN (SELECT id FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= $3 AND lease_until <= $3
		ORDER BY next_attempt_at, id LIMIT $4%s)
	RETURNING ` + mailColumns

// ClaimMail leases up to limit pending messages due at now, whose earlier
// lease (if any) has ended, to a new lease (a random string) until
// now+lease, and returns them, oldest due first, with Lease set. Messages
// under another claim's lease are skipped, not waited for. EInvalid for a
// lease that is not positive.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, auth.Errorf(auth.EInvalid, "A lease must be positive")
	}
	rows, err := s.write().QueryContext(ctx, fmt.Sprintf(claimMail, s.d.skipLocked()),
		rand.Text(), ms(now.Add(lease)), ms(now), limit)
	if err != nil {
		return nil, s.fail(opClaimMail, err)
	}
	claimed, err := collect(rows, scanMail)
	if err != nil {
		return nil, s.fail(opClaimMail, err)
	}
	slices.SortFunc(claimed, func(a, b auth.Mail) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), strings.Compare(a.ID, b.ID))
	})
	return claimed, nil
}

// underLease is the condition of every outcome: the message is still
// pending under the caller's lease ($1 the id, $2 the lease).
const underLease = ` WHERE id = $1 AND lease = $2 AND state = 'pending'`

// released is the part of an outcome's SET that ends the claim.
const released = `lease = '', lease_until = 0, attempts = attempts + 1`

// claimed reports whether id and lease can name a claim at all: an
// unclaimed message has the lease "", which must match nothing.
func claimed(id, lease string) bool {
	return lease != "" && !unstorable(id, lease)
}

// MarkMailSent records that the message under lease was sent at now:
// sent, its body (text and HTML, not the subject) blanked, one more
// attempt, no error, the claim ended. ENotFound "Message not claimed" if
// the message is not pending under that lease.
func (s *Store) MarkMailSent(ctx context.Context, id, lease string, now time.Time) error {
	if !claimed(id, lease) {
		return errNoMatch(opMarkMailSent)
	}
	err := execOne(ctx, s.write(), `UPDATE outbox SET state = 'sent', sent_at = $3, last_error = '',
		body_text = '', body_html = '', `+released+underLease, id, lease, ms(now))
	return s.fail(opMarkMailSent, err)
}

// RetryMail records a failed attempt of the message under lease: one more
// attempt, lastError kept (made valid UTF-8, at most 1000 bytes), due
// again at next, the claim ended. ENotFound "Message not claimed" if the
// message is not pending under that lease.
func (s *Store) RetryMail(ctx context.Context, id, lease string, next time.Time, lastError string) error {
	if !claimed(id, lease) {
		return errNoMatch(opRetryMail)
	}
	err := execOne(ctx, s.write(), `UPDATE outbox SET last_error = $3, next_attempt_at = $4, `+released+underLease,
		id, lease, storableError(lastError), ms(next))
	return s.fail(opRetryMail, err)
}

// FailMail gives up the message under lease: failed, its body blanked,
// one more attempt, lastError kept (as RetryMail keeps it), the claim
// ended, with fx at now as a change to the message's user (its audit
// events name that user). ENotFound "Message not claimed" if the message
// is not pending under that lease.
func (s *Store) FailMail(ctx context.Context, id, lease string, lastError string, now time.Time, fx auth.Effects) error {
	if !claimed(id, lease) {
		return errNoMatch(opFailMail)
	}
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE outbox SET state = 'failed', last_error = $3,
			body_text = '', body_html = '', `+released+underLease+` RETURNING user_id`,
			id, lease, storableError(lastError)).Scan(&userID)
		if err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, userID, now)
	})
	return s.fail(opFailMail, err)
}

// ReplaceMail deletes the message under lease and applies fx in the same
// transaction as a change to the user userID ("" for none): fx.Void voids
// that user's secrets, fx.Secrets and fx.Mail are stored (fx.Mail due
// now, concerning userID unless they name a user), and the audit events
// name that user. ENotFound "Message not claimed" if the message is not
// pending under that lease; ENotFound "User not found" if a secret's
// owner does not exist.
func (s *Store) ReplaceMail(ctx context.Context, id, lease, userID string, fx auth.Effects) error {
	if !claimed(id, lease) {
		return errNoMatch(opReplaceMail)
	}
	if unstorable(userID) {
		return errUnstorable()
	}
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		if err := execOne(ctx, tx, `DELETE FROM outbox`+underLease, id, lease); err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, userID, now())
	})
	return s.fail(opReplaceMail, err)
}

// storableError makes the error of an attempt, which may quote a remote
// server, storable: valid UTF-8 without NUL bytes, at most maxLastError
// bytes. An outcome must not fail on it, or the message would be sent
// again.
func storableError(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ListMail returns up to f.Limit messages that f selects, newest (highest
// id) first, bodies included: a listing for people must not show them.
func (s *Store) ListMail(ctx context.Context, f auth.MailFilter) ([]auth.Mail, error) {
	if f.Limit <= 0 || unstorable(string(f.State), f.Before) {
		return nil, nil // no message has such a state or id
	}
	query, args := mailQuery(f)
	rows, err := s.read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(opListMail, err)
	}
	list, err := collect(rows, scanMail)
	return list, s.fail(opListMail, err)
}

// mailQuery builds the SELECT of f from the conditions of the fields it
// sets, so that each combination gets a plan that uses its index.
func mailQuery(f auth.MailFilter) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.State != "" {
		conds = append(conds, "state = "+arg(string(f.State)))
	}
	if f.Before != "" {
		conds = append(conds, "id < "+arg(f.Before))
	}
	q := `SELECT ` + mailColumns + ` FROM outbox`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q + ` ORDER BY id DESC LIMIT ` + arg(f.Limit), args
}

// CountMail returns how many messages are in each state, with every
// state of auth.Mail present (0 for none).
func (s *Store) CountMail(ctx context.Context) (map[auth.MailState]int, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, s.fail(opCountMail, err)
	}
	type count struct {
		state string
		n     int
	}
	counts, err := collect(rows, func(row scanner) (count, error) {
		var c count
		return c, row.Scan(&c.state, &c.n)
	})
	if err != nil {
		return nil, s.fail(opCountMail, err)
	}
	out := map[auth.MailState]int{auth.MailPending: 0, auth.MailSent: 0, auth.MailFailed: 0}
	for _, c := range counts {
		out[auth.MailState(c.state)] = c.n
	}
	return out, nil
}

// PruneMail deletes the sent and failed messages created before before,
// in batches of pruneMailBatch, and returns how many. Pending messages
// stay, however old.
func (s *Store) PruneMail(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.write().ExecContext(ctx, `DELETE FROM outbox WHERE id IN
			(SELECT id FROM outbox WHERE state IN ('sent', 'failed') AND created_at < $1 ORDER BY id LIMIT $2)`,
			ms(before), pruneMailBatch)
		if err != nil {
			return total, s.fail(opPruneMail, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.fail(opPruneMail, err)
		}
		total += n
		if n < pruneMailBatch {
			return total, nil
		}
	}
}
