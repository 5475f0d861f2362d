package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/mail"
)

// memStore is an outbox in memory with the store's lease rules, for the
// sender's unit tests (the real stores are tested in store_test.go).
type memStore struct {
	mu     sync.Mutex
	rows   map[string]*auth.Mail
	until  map[string]time.Time // lease ends
	leases int
	seq    int
	audit  []auth.AuditEvent // the events of FailMail's and ReplaceMail's effects

	claimErr  error // ClaimMail fails with it while claimFail > 0
	claimFail int
	markErr   error // MarkMailSent fails with it
}

func newMemStore() *memStore {
	return &memStore{rows: map[string]*auth.Mail{}, until: map[string]time.Time{}}
}

func (s *memStore) add(m auth.Mail, due time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if m.ID == "" {
		m.ID = fmt.Sprintf("m%04d", s.seq)
	}
	if m.MessageID == "" {
		m.MessageID = m.ID + "@example.com"
	}
	m.State, m.NextAttemptAt = auth.MailPending, due
	if m.CreatedAt.IsZero() {
		m.CreatedAt = due
	}
	s.rows[m.ID] = &m
	return m.ID
}

func (s *memStore) get(id string) auth.Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.rows[id]; ok {
		return *m
	}
	return auth.Mail{}
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

func (s *memStore) ClaimMail(_ context.Context, now time.Time, lease time.Duration, limit int) ([]auth.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimFail > 0 {
		s.claimFail--
		return nil, s.claimErr
	}
	var due []*auth.Mail
	for _, m := range s.rows {
		if m.State == auth.MailPending && !m.NextAttemptAt.After(now) && (m.Lease == "" || !s.until[m.ID].After(now)) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, func(a, b *auth.Mail) int { return a.NextAttemptAt.Compare(b.NextAttemptAt)*2 + cmpStr(a.ID, b.ID) })
	var out []auth.Mail
	for _, m := range due[:min(limit, len(due))] {
		s.leases++
		m.Lease = fmt.Sprintf("lease-%d", s.leases)
		s.until[m.ID] = now.Add(lease)
		out = append(out, *m)
	}
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// held returns the row that lease holds, or ENotFound.
func (s *memStore) held(id, lease string) (*auth.Mail, error) {
	m, ok := s.rows[id]
	if !ok || m.Lease != lease || m.State != auth.MailPending {
		return nil, auth.Errorf(auth.ENotFound, "no message %s under that lease", id)
	}
	return m, nil
}

func (s *memStore) MarkMailSent(_ context.Context, id, lease string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markErr != nil {
		return s.markErr
	}
	m, err := s.held(id, lease)
	if err != nil {
		return err
	}
	m.State, m.SentAt, m.Lease, m.Attempts, m.LastError = auth.MailSent, now, "", m.Attempts+1, ""
	m.Subject, m.Text, m.HTML = "", "", ""
	return nil
}

func (s *memStore) RetryMail(_ context.Context, id, lease string, next time.Time, lastError string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.held(id, lease)
	if err != nil {
		return err
	}
	m.Attempts, m.NextAttemptAt, m.LastError, m.Lease = m.Attempts+1, next, lastError, ""
	return nil
}

func (s *memStore) FailMail(_ context.Context, id, lease, lastError string, _ time.Time, fx auth.Effects) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.held(id, lease)
	if err != nil {
		return err
	}
	m.State, m.Attempts, m.LastError, m.Lease = auth.MailFailed, m.Attempts+1, lastError, ""
	m.Subject, m.Text, m.HTML = "", "", ""
	s.audit = append(s.audit, fx.Audit...)
	return nil
}

func (s *memStore) ReplaceMail(_ context.Context, id, lease, userID string, fx auth.Effects) error {
	s.mu.Lock()
	old, err := s.held(id, lease)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	due := old.NextAttemptAt
	delete(s.rows, id)
	s.audit = append(s.audit, fx.Audit...)
	s.mu.Unlock()
	for _, m := range fx.Mail {
		if m.UserID == "" {
			m.UserID = userID
		}
		s.add(m, due)
	}
	return nil
}

func (s *memStore) CountMail(context.Context) (map[auth.MailState]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[auth.MailState]int{}
	for _, m := range s.rows {
		n[m.State]++
	}
	return n, nil
}

func (s *memStore) PruneMail(_ context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, m := range s.rows {
		if m.State != auth.MailPending && m.CreatedAt.Before(before) {
			delete(s.rows, id)
			n++
		}
	}
	return n, nil
}

// fakeTransport records what it is given and fails as told.
type fakeTransport struct {
	mu    sync.Mutex
	sent  []auth.Mail
	fails []error // the next sends' errors, in order; then success
	calls int
}

func (f *fakeTransport) Send(_ context.Context, m auth.Mail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.fails) > 0 {
		err := f.fails[0]
		f.fails = f.fails[1:]
		if err != nil {
			return err
		}
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeTransport) sentIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, m := range f.sent {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

var (
	errTemporary = &mail.SendError{Err: errors.New("451 try again later")}
	errPermanent = &mail.SendError{Permanent: true, Err: errors.New("550 no such user")}
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// resolver resolves reset requests to known addresses.
type resolver struct {
	known map[string]string // address → user id
	err   error
}

func (r resolver) ResolveResetRequest(_ context.Context, m auth.Mail) (string, auth.Effects, error) {
	if r.err != nil {
		return "", auth.Effects{}, r.err
	}
	uid, ok := r.known[m.To]
	if !ok {
		return "", auth.Effects{}, nil
	}
	return uid, auth.Effects{
		Audit: []auth.AuditEvent{{Event: auth.AuditResetSent, UserID: uid}},
		Mail:  []auth.Mail{{Kind: auth.MailReset, To: m.To, Subject: "Reset", Text: "https://id.example.com/reset-password#token=t\n"}},
	}, nil
}
