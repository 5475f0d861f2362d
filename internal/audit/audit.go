// Package audit keeps Gatehouse's audit trail: every login and failed
// login, refresh, reuse of a refresh token, logout, revocation, signup,
// password change, administrator's change and key rotation, with who did
// it and from where. Services record events through a Recorder, most in
// the transaction of the change they describe (Recorder.Effects); the
// client's address, its user agent and the acting user come in an Origin
// that the HTTP layer or the command line passes to every change. An event
// never holds a password or a whole token.
package audit

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Origin is who makes a request and from where.
type Origin = auth.Origin

// Recorder writes events to the audit trail. A nil *Recorder records
// nothing.
type Recorder struct {
	Store auth.AuditStore
	Log   *slog.Logger
	Now   func() time.Time
	// Retention is how long events are kept; 0 keeps them forever.
	Retention time.Duration

	folds folder
}

// New returns a Recorder on store.
func New(store auth.AuditStore, log *slog.Logger, retention time.Duration) *Recorder {
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{Store: store, Log: log, Now: time.Now, Retention: retention}
}

// recordTimeout bounds the write of one event.
const recordTimeout = 5 * time.Second

// The longest value kept in each field, in bytes.
const (
	maxName   = 4 * auth.MaxUsernameLen
	maxID     = 128
	maxIP     = 64
	maxAgent  = 256
	maxDetail = 512
)

// Record stores e before it returns, taking the time, the address, the
// user agent and the actor from o where e leaves them empty. It
// records even when ctx has been cancelled (the client went away after
// the action took effect). A failure is logged, not returned: the audit
// trail never fails the request it describes.
//
// Logins refused without a password check (throttled, or every hashing
// slot busy) come by the thousand in a flood, so each address's are folded:
// one event a FoldWindow is written, and a later event counts the others.
func (r *Recorder) Record(ctx context.Context, o Origin, e auth.AuditEvent) {
	if r == nil {
		return
	}
	e = r.Prepare(o, e)
	if folded(e) {
		record, summary := r.folds.admit(string(e.Event)+"\x00"+e.Detail+"\x00"+e.IP, e, e.Time)
		if summary != nil {
			r.write(ctx, *summary)
		}
		if !record {
			return
		}
	}
	r.write(ctx, e)
}

// Effects returns the side effects that record events with a change, in
// its transaction (see auth.Effects): each event prepared as Record would
// store it, and a failure to write one logged. A nil *Recorder records
// nothing.
func (r *Recorder) Effects(ctx context.Context, o Origin, events ...auth.AuditEvent) auth.Effects {
	if r == nil {
		return auth.Effects{}
	}
	fx := auth.Effects{Audit: make([]auth.AuditEvent, len(events))}
	for i, e := range events {
		fx.Audit[i] = r.Prepare(o, e)
	}
	fx.AuditFailed = func(e auth.AuditEvent, err error) { r.Failed(ctx, e, err) }
	return fx
}

// Prepare returns e as Record would store it: stamped with the time, the
// address, the user agent and the actor from o where e leaves them empty,
// every field cut to what is kept. The store may still fill in the user
// and session a change touched (see auth.Effects); it keeps the rest.
func (r *Recorder) Prepare(o Origin, e auth.AuditEvent) auth.AuditEvent {
	e.Time = r.Now()
	e.IP = clip(orElse(e.IP, o.IP), maxIP)
	e.UserAgent = clip(orElse(e.UserAgent, o.UserAgent), maxAgent)
	if e.ActorID == "" && e.Actor == "" {
		e.ActorID, e.Actor = o.ActorID, o.Actor
	}
	e.ActorID, e.Actor = clip(e.ActorID, maxID), clip(e.Actor, maxName)
	e.UserID, e.SessionID = clip(e.UserID, maxID), clip(e.SessionID, maxID)
	e.Username, e.Detail = clip(e.Username, maxName), clip(e.Detail, maxDetail)
	return e
}

// write stores e, logging a failure.
func (r *Recorder) write(ctx context.Context, e auth.AuditEvent) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := r.Store.RecordAudit(wctx, &e); err != nil {
		r.Failed(ctx, e, err)
	}
}

// Failed logs that e could not be written.
func (r *Recorder) Failed(ctx context.Context, e auth.AuditEvent, err error) {
	if r == nil {
		return
	}
	r.Log.ErrorContext(ctx, "recording an audit event failed", "event", string(e.Event),
		"user", e.UserID, "session", e.SessionID, "detail", e.Detail, "err", err)
}

// List returns a page of the events f selects, newest first, and the
// cursor of the next page (0 on the last page).
func (r *Recorder) List(ctx context.Context, f auth.AuditFilter) ([]auth.AuditEvent, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		return nil, 0, nil
	}
	f.Limit = limit + 1
	events, err := r.Store.AuditEvents(ctx, f)
	if err != nil || len(events) <= limit {
		return events, 0, err
	}
	events = events[:limit]
	return events, events[limit-1].ID, nil
}

// Prune records what was folded (see Flush), then deletes the events older
// than the retention at now. With a retention of 0 it deletes nothing.
func (r *Recorder) Prune(ctx context.Context, now time.Time) (int64, error) {
	r.Flush(ctx)
	if r == nil || r.Retention <= 0 {
		return 0, nil
	}
	return r.Store.PruneAudit(ctx, now.Add(-r.Retention))
}

// JSON is an event as the HTTP API and the command line print it.
type JSON struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Event     string    `json:"event"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	SessionID string    `json:"session_id"`
	ActorID   string    `json:"actor_id"`
	Actor     string    `json:"actor"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail"`
}

// ToJSON returns the JSON form of e.
func ToJSON(e auth.AuditEvent) JSON {
	return JSON{e.ID, e.Time.UTC(), string(e.Event), e.UserID, e.Username, e.SessionID,
		e.ActorID, e.Actor, e.IP, e.UserAgent, e.Detail}
}

// ParseEvent reads the name of an event to filter by: "" (any event) or
// one of auth.AuditEventNames. EInvalid lists the names.
func ParseEvent(s string) (auth.AuditEventName, error) {
	name := auth.AuditEventName(s)
	if s == "" || slices.Contains(auth.AuditEventNames, name) {
		return name, nil
	}
	names := make([]string, len(auth.AuditEventNames))
	for i, n := range auth.AuditEventNames {
		names[i] = string(n)
	}
	return "", auth.Errorf(auth.EInvalid, "event must be one of %s", strings.Join(names, ", "))
}

func orElse(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// clip makes s storable text: valid UTF-8 without NUL bytes, at most n
// bytes long, cut at a character boundary.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
