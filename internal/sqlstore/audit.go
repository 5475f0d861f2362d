package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var (
	opRecordAudit = op{name: "record audit event"}
	opAuditEvents = op{name: "audit events"}
	opPruneAudit  = op{name: "prune audit events"}
)

const auditColumns = `id, created_at, event, user_id, username, session_id, actor_id, actor, ip, user_agent, detail`

// pruneAuditBatch is how many audit rows one statement of PruneAudit
// deletes, so that a large backlog never holds the write lock for long.
const pruneAuditBatch = 5000

// RecordAudit stores e (at now if e.Time is zero) and sets e.ID and e.Time.
func (s *Store) RecordAudit(ctx context.Context, e *auth.AuditEvent) error {
	if err := insertAudit(ctx, s.write(), e); err != nil {
		return s.fail(opRecordAudit, err)
	}
	return nil
}

func insertAudit(ctx context.Context, q querier, e *auth.AuditEvent) error {
	if unstorable(string(e.Event), e.UserID, e.Username, e.SessionID, e.ActorID, e.Actor, e.IP, e.UserAgent, e.Detail) {
		return errUnstorable()
	}
	t := e.Time
	if t.IsZero() {
		t = now()
	}
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO audit_events
		(created_at, event, user_id, username, user_key, session_id, actor_id, actor, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		ms(t), string(e.Event), e.UserID, e.Username, auth.UsernameKey(e.Username), e.SessionID,
		e.ActorID, e.Actor, e.IP, e.UserAgent, e.Detail).Scan(&id)
	if err != nil {
		return err
	}
	e.ID, e.Time = id, fromMS(ms(t))
	return nil
}

func scanAuditEvent(row scanner) (auth.AuditEvent, error) {
	var e auth.AuditEvent
	var created int64
	var event string
	err := row.Scan(&e.ID, &created, &event, &e.UserID, &e.Username, &e.SessionID,
		&e.ActorID, &e.Actor, &e.IP, &e.UserAgent, &e.Detail)
	e.Time, e.Event = fromMS(created), auth.AuditEventName(event)
	return e, err
}

// AuditEvents returns up to f.Limit events that f selects, highest id
// first.
func (s *Store) AuditEvents(ctx context.Context, f auth.AuditFilter) ([]auth.AuditEvent, error) {
	if f.Limit <= 0 || unstorable(f.User, string(f.Event)) {
		return nil, nil // no event has such a user or name
	}
	query, args := auditQuery(f)
	rows, err := s.read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(opAuditEvents, err)
	}
	events, err := collect(rows, scanAuditEvent)
	return events, s.fail(opAuditEvents, err)
}

// auditQuery builds the SELECT of f from fixed conditions, one for each
// field of f that is set, so that each combination gets a plan that uses
// its index.
func auditQuery(f auth.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.User != "" {
		cond := "user_id = " + arg(f.User)
		if key := auth.UsernameKey(f.User); key != "" {
			cond = "(" + cond + " OR user_key = " + arg(key) + ")"
		}
		conds = append(conds, cond)
	}
	if f.Event != "" {
		conds = append(conds, "event = "+arg(string(f.Event)))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "created_at >= "+arg(ms(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "created_at < "+arg(ms(f.Until)))
	}
	if f.Before > 0 {
		conds = append(conds, "id < "+arg(f.Before))
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q + ` ORDER BY id DESC LIMIT ` + arg(f.Limit), args
}

// PruneAudit deletes the events recorded before before, in batches of
// pruneAuditBatch, and returns how many it deleted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.write().ExecContext(ctx, `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE created_at < $1 ORDER BY id LIMIT $2)`,
			ms(before), pruneAuditBatch)
		if err != nil {
			return total, s.fail(opPruneAudit, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.fail(opPruneAudit, err)
		}
		total += n
		if n < pruneAuditBatch {
			return total, nil
		}
	}
}
