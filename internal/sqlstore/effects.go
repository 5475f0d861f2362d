package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// subject is what a mutation touched, stamped on its audit events where
// they leave it empty.
type subject struct {
	userID, username, sessionID string
	detail                      string // an empty Detail's default
	// ends is set for a change that ends sessions; ended is how many.
	ends  bool
	ended int
}

func subjectOf(u auth.User, sessionID string) subject {
	return subject{userID: u.ID, username: u.Username, sessionID: sessionID}
}

// ending returns sub for a change that ended n sessions.
func (sub subject) ending(n int) subject {
	sub.ends, sub.ended = true, n
	return sub
}

// applied is what writing a mutation's effects left to report after the
// commit: the audit events whose insert was undone alone.
type applied struct {
	failed []failedEvent
	notify func(auth.AuditEvent, error) // the effects' AuditFailed
}

type failedEvent struct {
	event auth.AuditEvent
	err   error
}

// applyEffects writes fx inside tx, after the mutation's own writes and
// before its revocations (which must come last, see insertRevocations).
// Each audit event is written under a savepoint of its own, so a failure
// of its insert is undone alone and reported, while the change commits.
// A secret or a message that cannot be stored breaks the transaction.
// Messages are pending and due at t, and concern sub's user unless they
// name one.
func (s *Store) applyEffects(ctx context.Context, tx querier, fx auth.Effects, sub subject, t time.Time) (applied, error) {
	res := applied{notify: fx.AuditFailed}
	for _, purpose := range fx.Void {
		if _, err := voidSecrets(ctx, tx, purpose, sub.userID, t); err != nil {
			return applied{}, err
		}
	}
	for _, sec := range fx.Secrets {
		if err := s.issueSecret(ctx, tx, sec, t); err != nil {
			return applied{}, err
		}
	}
	for _, m := range fx.Mail {
		if m.UserID == "" {
			m.UserID = sub.userID
		}
		if err := s.insertMail(ctx, tx, m, t); err != nil {
			return applied{}, err
		}
	}
	for _, e := range fx.Audit {
		e = sub.stamp(e)
		auditErr, err := s.d.isolate(ctx, tx, func() error { return insertAudit(ctx, tx, &e) })
		if err != nil {
			return applied{}, err
		}
		if auditErr != nil {
			res.failed = append(res.failed, failedEvent{e, s.fail(opRecordAudit, auditErr)})
		}
	}
	return res, nil
}

func (sub subject) stamp(e auth.AuditEvent) auth.AuditEvent {
	if e.UserID == "" {
		e.UserID = sub.userID
	}
	if e.Username == "" {
		e.Username = sub.username
	}
	if e.SessionID == "" {
		e.SessionID = sub.sessionID
	}
	if e.Detail == "" {
		e.Detail = sub.detail
	}
	if sub.ends {
		e.Detail = strings.TrimSpace(fmt.Sprintf("%s sessions_ended=%d", e.Detail, sub.ended))
	}
	return e
}

// report tells the effects' AuditFailed, after the commit, of the events
// that could not be written.
func (a applied) report() {
	if a.notify == nil {
		return
	}
	for _, f := range a.failed {
		a.notify(f.event, f.err)
	}
}

// mutate runs fn in a write transaction, then reports the effects that fn
// applied and could not write. fn may run more than once; it returns what
// its last run applied.
func (s *Store) mutate(ctx context.Context, fn func(tx querier) (applied, error)) error {
	var res applied
	err := s.inTx(ctx, func(tx querier) error {
		var err error
		res, err = fn(tx)
		return err
	})
	if err == nil {
		res.report()
	}
	return err
}
