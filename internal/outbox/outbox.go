// Package outbox is the background sender of the mail outbox. Every
// replica runs one: it claims due messages from the store with a lease (so
// that two senders never send the same message while the lease holds),
// hands them to a mail.Transport, and records the outcome: sent, due again
// later with backoff after a temporary failure, or failed (with a
// mail.failed audit event) after a permanent one or too many temporary
// ones. A reset request is not sent but resolved, through a Resolver, into
// the message that replaces it, or into nothing.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/mail"
)

// Store is what the sender needs of an auth.OutboxStore.
type Store interface {
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Mail, error)
	MarkMailSent(ctx context.Context, id, lease string, now time.Time) error
	RetryMail(ctx context.Context, id, lease string, next time.Time, lastError string) error
	FailMail(ctx context.Context, id, lease string, lastError string, now time.Time, fx auth.Effects) error
	ReplaceMail(ctx context.Context, id, lease, userID string, fx auth.Effects) error
	CountMail(ctx context.Context) (map[auth.MailState]int, error)
	PruneMail(ctx context.Context, before time.Time) (int64, error)
}

var _ Store = auth.OutboxStore(nil)

// Resolver turns a reset request (auth.MailResetRequest) into what
// replaces it: the user it concerns ("" for none) and the effects (the
// secret, the message, the audit events) that ReplaceMail applies.
type Resolver interface {
	ResolveResetRequest(ctx context.Context, m auth.Mail) (userID string, fx auth.Effects, err error)
}

// Config configures a Sender. Zero values take the defaults.
type Config struct {
	Store     Store
	Transport mail.Transport
	Resolver  Resolver
	// Audit records mail.failed events (nil records none).
	Audit    *audit.Recorder
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not exported

	Batch   int // messages claimed at a time, default 32
	Workers int // parallel sends, default 8
	// Rate caps the messages this sender starts a second (0: no cap), so
	// that a backlog drains in the background without taking the CPU the
	// API needs; the SMTP server's own limits are usually lower still.
	Rate float64
	// Busy, when set, says the API is busy; the sender then starts at most
	// a fifth of Rate a second, so that a backlog takes little of the CPU
	// the API's requests need.
	Busy        func() bool
	Lease       time.Duration // how long a claim holds, default 2 min (longer than a send's timeouts)
	Poll        time.Duration // how often to look for due messages, default 1 s
	MinBackoff  time.Duration // the wait after a first temporary failure, default 1 min
	MaxBackoff  time.Duration // the longest wait, default 1 h
	MaxAttempts int           // attempts before a message is given up, default 8
	Retention   time.Duration // how long sent and failed messages are kept, default 7 days
	Now         func() time.Time
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.Batch = orDefault(c.Batch, 32)
	c.Workers = orDefault(c.Workers, 8)
	c.Lease = orDefault(c.Lease, 2*time.Minute)
	c.Poll = orDefault(c.Poll, time.Second)
	c.MinBackoff = orDefault(c.MinBackoff, time.Minute)
	c.MaxBackoff = max(orDefault(c.MaxBackoff, time.Hour), c.MinBackoff)
	c.MaxAttempts = orDefault(c.MaxAttempts, 8)
	c.Retention = orDefault(c.Retention, 7*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// How often the sender counts the queue and prunes old messages.
const (
	countEvery = time.Second
	pruneEvery = time.Hour
)

// origin is the origin of the sender's audit events.
var origin = auth.Origin{Actor: "outbox"}

// Sender sends the outbox's messages. Run it in every replica.
type Sender struct {
	c      Config
	m      *metrics
	wake   chan struct{}
	jitter func(time.Duration) time.Duration

	mu      sync.Mutex // housekeeping's, for a Drain beside a Run
	counted time.Time  // when the queue was last counted
	pruned  time.Time  // when old messages were last pruned

	paceMu sync.Mutex
	slot   time.Time // when the next message may start, under Rate
}

// pace waits for the next message's slot under Config.Rate; an error
// when ctx ends first.
func (s *Sender) pace(ctx context.Context) error {
	if s.c.Rate <= 0 {
		return nil
	}
	rate := s.c.Rate
	if s.c.Busy != nil && s.c.Busy() {
		rate /= 5
	}
	s.paceMu.Lock()
	now := time.Now()
	at := s.slot
	if at.Before(now) {
		at = now
	}
	s.slot = at.Add(time.Duration(float64(time.Second) / rate))
	s.paceMu.Unlock()
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// New returns a Sender of c's store.
func New(c Config) *Sender {
	c.defaults()
	return &Sender{
		c: c, m: newMetrics(c.Registry), wake: make(chan struct{}, 1),
		jitter: func(d time.Duration) time.Duration { return rand.N(d/10 + 1) },
	}
}

// Wake tells the sender that a message was just enqueued here, so that it
// looks now rather than at the next poll. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends due messages until ctx ends, then returns nil once the sends
// under way have finished and been recorded. Messages claimed but not yet
// started stay claimed until their lease ends; then any sender takes them.
// Store failures are logged and tried again at the next poll.
func (s *Sender) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		_, again, err := s.cycle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.c.Log.ErrorContext(ctx, "outbox: claiming due messages failed; trying again at the next poll", "err", err)
		}
		s.housekeep(ctx, false)
		if again && err == nil {
			continue
		}
		timer.Reset(s.c.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// Drain claims and handles messages until none is due, for tests and
// benchmarks, and returns the first store error.
func (s *Sender) Drain(ctx context.Context) error {
	for {
		n, _, err := s.cycle(ctx)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n == 0 {
			s.housekeep(ctx, true)
			return nil
		}
	}
}

// cycle claims one batch and handles it. It returns how many messages it
// claimed, and whether more may be due at once: the batch was full, or a
// reset request was replaced by a message.
func (s *Sender) cycle(ctx context.Context) (int, bool, error) {
	batch, err := s.c.Store.ClaimMail(ctx, s.c.Now(), s.c.Lease, s.c.Batch)
	if err != nil {
		return 0, false, fmt.Errorf("claim mail: %w", err)
	}
	var replaced bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.c.Workers)
	for _, m := range batch {
		if s.pace(ctx) != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// The outcome of a send is recorded even while the process
			// shuts down: an unrecorded send is sent again.
			if s.handle(context.WithoutCancel(ctx), m) {
				mu.Lock()
				replaced = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(batch), len(batch) == s.c.Batch || replaced, nil
}

// handle resolves a reset request or sends a message, and records the
// outcome. It reports whether it replaced a reset request.
func (s *Sender) handle(ctx context.Context, m auth.Mail) bool {
	ctx, cancel := context.WithTimeout(ctx, s.c.Lease/2)
	defer cancel()
	if m.Kind == auth.MailResetRequest {
		return s.resolve(ctx, m)
	}
	s.deliver(ctx, m)
	return false
}

// resolve replaces a reset request by what the Resolver makes of it.
func (s *Sender) resolve(ctx context.Context, m auth.Mail) bool {
	if s.c.Resolver == nil {
		s.failed(ctx, m, errors.New("no resolver of reset requests is configured"))
		return false
	}
	userID, fx, err := s.c.Resolver.ResolveResetRequest(ctx, m)
	if err != nil {
		s.failed(ctx, m, fmt.Errorf("resolve reset request: %w", err))
		return false
	}
	err = s.c.Store.ReplaceMail(ctx, m.ID, m.Lease, userID, fx)
	if s.recorded(ctx, m, "replace reset request", err) {
		s.c.Log.DebugContext(ctx, "outbox: reset request resolved", "id", m.ID, "matched", userID != "")
		return true
	}
	return false
}

// deliver sends m and records how it went.
func (s *Sender) deliver(ctx context.Context, m auth.Mail) {
	err := s.c.Transport.Send(ctx, m)
	if err == nil {
		if s.recorded(ctx, m, "mark mail sent", s.c.Store.MarkMailSent(ctx, m.ID, m.Lease, s.c.Now())) {
			s.m.sent(m.Kind)
			s.c.Log.InfoContext(ctx, "outbox: mail sent", "id", m.ID, "kind", string(m.Kind), "to", auth.Redacted(m.To), "message_id", m.MessageID)
		}
		return
	}
	if mail.Permanent(err) {
		s.give(ctx, m, err)
		return
	}
	s.failed(ctx, m, err)
}

// failed handles a temporary failure of the attempt that m was claimed
// for: the message is due again after a backoff, or given up once it has
// had MaxAttempts.
func (s *Sender) failed(ctx context.Context, m auth.Mail, err error) {
	attempt := m.Attempts + 1
	if attempt >= s.c.MaxAttempts {
		s.give(ctx, m, fmt.Errorf("%d attempts: %w", attempt, err))
		return
	}
	next := s.c.Now().Add(s.backoff(attempt))
	if s.recorded(ctx, m, "retry mail", s.c.Store.RetryMail(ctx, m.ID, m.Lease, next, err.Error())) {
		s.m.retried.Inc()
		s.c.Log.WarnContext(ctx, "outbox: mail not sent; trying again later", "id", m.ID, "kind", string(m.Kind),
			"to", auth.Redacted(m.To), "attempt", attempt, "next", next, "err", err)
	}
}

// give gives m up, with a mail.failed audit event.
func (s *Sender) give(ctx context.Context, m auth.Mail, err error) {
	fx := s.c.Audit.Effects(ctx, origin, auth.AuditEvent{
		Event: auth.AuditMailFailed, UserID: m.UserID,
		Detail: fmt.Sprintf("kind=%s error=%s", m.Kind, err),
	})
	if s.recorded(ctx, m, "fail mail", s.c.Store.FailMail(ctx, m.ID, m.Lease, err.Error(), s.c.Now(), fx)) {
		s.m.failed.Inc()
		s.c.Log.ErrorContext(ctx, "outbox: mail given up", "id", m.ID, "kind", string(m.Kind),
			"to", auth.Redacted(m.To), "attempts", m.Attempts+1, "err", err)
	}
}

// recorded reports whether err (of recording m's outcome) is nil. A lost
// lease means another sender took the message over: it is logged at Warn
// and the outcome dropped. Other errors are logged; the message stays
// claimed until its lease ends and is then handled again.
func (s *Sender) recorded(ctx context.Context, m auth.Mail, what string, err error) bool {
	switch {
	case err == nil:
		return true
	case auth.ErrorCode(err) == auth.ENotFound:
		s.c.Log.WarnContext(ctx, "outbox: lease lost before the outcome was recorded (another sender took the message over)",
			"id", m.ID, "kind", string(m.Kind), "step", what)
	default:
		s.c.Log.ErrorContext(ctx, "outbox: recording a message's outcome failed; it is handled again once its lease ends",
			"id", m.ID, "kind", string(m.Kind), "step", what, "err", err)
	}
	return false
}

// backoff returns the wait before the attempt after attempt (1 for the
// first): MinBackoff·2^(attempt-1), at most MaxBackoff, plus up to a
// tenth more so that messages failed together spread out.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.c.MinBackoff
	for i := 1; i < attempt && d < s.c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.c.MaxBackoff)
	return d + s.jitter(d)
}

// housekeep refreshes the queue-depth gauge (at most once a second, or
// now when forced) and prunes old messages (hourly). Its schedule follows
// the wall clock; what it prunes, Config.Now.
func (s *Sender) housekeep(ctx context.Context, force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if force || now.Sub(s.counted) >= countEvery {
		s.counted = now
		counts, err := s.c.Store.CountMail(ctx)
		if err != nil {
			s.c.Log.WarnContext(ctx, "outbox: counting the queue failed", "err", err)
		} else {
			s.m.depth.Set(float64(counts[auth.MailPending]))
		}
	}
	if s.pruned.IsZero() || now.Sub(s.pruned) >= pruneEvery {
		s.pruned = now
		n, err := s.c.Store.PruneMail(ctx, s.c.Now().Add(-s.c.Retention))
		if err != nil {
			s.c.Log.WarnContext(ctx, "outbox: pruning old messages failed", "err", err)
		} else if n > 0 {
			s.c.Log.InfoContext(ctx, "outbox: pruned old messages", "count", n)
		}
	}
}
