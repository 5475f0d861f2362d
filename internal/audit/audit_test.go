package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// memStore keeps events in memory, or fails every call with err.
type memStore struct {
	events []auth.AuditEvent
	err    error
	ctxErr error // the error of the context RecordAudit got
}

func (m *memStore) RecordAudit(ctx context.Context, e *auth.AuditEvent) error {
	m.ctxErr = ctx.Err()
	if m.err != nil {
		return m.err
	}
	e.ID = int64(len(m.events) + 1)
	m.events = append(m.events, *e)
	return nil
}

func (m *memStore) AuditEvents(_ context.Context, f auth.AuditFilter) ([]auth.AuditEvent, error) {
	var out []auth.AuditEvent
	for i := len(m.events) - 1; i >= 0 && len(out) < f.Limit; i-- {
		if f.Before == 0 || m.events[i].ID < f.Before {
			out = append(out, m.events[i])
		}
	}
	return out, m.err
}

func (m *memStore) PruneAudit(context.Context, time.Time) (int64, error) { return 0, m.err }

func TestRecordTakesTheOriginFromTheContext(t *testing.T) {
	st := &memStore{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := New(st, nil, 0)
	r.Now = func() time.Time { return at }
	ctx, o := context.Background(), Origin{IP: "192.0.2.1", UserAgent: "ua/1", ActorID: "admin-id", Actor: "root"}
	ctx, cancel := context.WithCancel(ctx)
	cancel() // the client went away; the event is recorded all the same
	r.Record(ctx, o, auth.AuditEvent{Event: auth.AuditUserDeleted, UserID: "u"})
	r.Record(ctx, o, auth.AuditEvent{Event: auth.AuditLoginSucceeded, IP: "198.51.100.2", UserAgent: "own", ActorID: "x", Actor: "y"})
	want := []auth.AuditEvent{
		{ID: 1, Time: at, Event: auth.AuditUserDeleted, UserID: "u", ActorID: "admin-id", Actor: "root", IP: "192.0.2.1", UserAgent: "ua/1"},
		{ID: 2, Time: at, Event: auth.AuditLoginSucceeded, ActorID: "x", Actor: "y", IP: "198.51.100.2", UserAgent: "own"},
	}
	if len(st.events) != 2 || st.events[0] != want[0] || st.events[1] != want[1] {
		t.Fatalf("recorded\n%+v\nwant\n%+v", st.events, want)
	}
	if st.ctxErr != nil {
		t.Fatalf("the store got a cancelled context: %v", st.ctxErr)
	}
}

func TestRecordFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	r := New(&memStore{err: errors.New("disk full")}, slog.New(slog.NewTextHandler(&logs, nil)), 0)
	r.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditLogout, UserID: "u1"})
	for _, want := range []string{"level=ERROR", "recording an audit event failed", "event=session.logout", "user=u1", "disk full"} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log %q lacks %q", logs.String(), want)
		}
	}
	var nilRecorder *Recorder
	nilRecorder.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditLogout}) // records nothing, no panic
	if n, err := nilRecorder.Prune(context.Background(), time.Now()); n != 0 || err != nil {
		t.Fatalf("nil Prune = %d, %v", n, err)
	}
}

func TestRecordStoresText(t *testing.T) {
	st := &memStore{}
	r := New(st, nil, 0)
	long := strings.Repeat("é", 200) // 400 bytes
	r.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditLoginFailed, Username: "a\x00b\xffc", UserAgent: long, Detail: long + long})
	e := st.events[0]
	if e.Username != "ab\uFFFDc" {
		t.Errorf("username %q: want NUL dropped and the bad byte replaced", e.Username)
	}
	if len(e.UserAgent) > maxAgent || !utf8.ValidString(e.UserAgent) || len(e.UserAgent) < maxAgent-1 {
		t.Errorf("user agent of %d bytes, valid %t: want cut to %d at a character boundary", len(e.UserAgent), utf8.ValidString(e.UserAgent), maxAgent)
	}
	if len(e.Detail) > maxDetail || !utf8.ValidString(e.Detail) {
		t.Errorf("detail of %d bytes", len(e.Detail))
	}
}

func TestListCursor(t *testing.T) {
	st := &memStore{}
	r := New(st, nil, 0)
	for range 5 {
		r.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditRefreshed})
	}
	var ids []int64
	f := auth.AuditFilter{Limit: 2}
	for {
		events, next, err := r.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			ids = append(ids, e.ID)
		}
		if next == 0 {
			break
		}
		f.Before = next
	}
	if len(ids) != 5 || ids[0] != 5 || ids[4] != 1 {
		t.Fatalf("paged through %v, want 5 to 1", ids)
	}
	if events, next, _ := r.List(context.Background(), auth.AuditFilter{Limit: 5}); len(events) != 5 || next != 0 {
		t.Fatalf("a page that holds everything: %d events, next %d", len(events), next)
	}
}

func TestParseEvent(t *testing.T) {
	for _, name := range auth.AuditEventNames {
		if got, err := ParseEvent(string(name)); got != name || err != nil {
			t.Errorf("ParseEvent(%s) = %q, %v", name, got, err)
		}
	}
	if got, err := ParseEvent(""); got != "" || err != nil {
		t.Errorf(`ParseEvent("") = %q, %v`, got, err)
	}
	_, err := ParseEvent("login")
	if auth.ErrorCode(err) != auth.EInvalid || !strings.Contains(err.Error(), "login.failed") {
		t.Errorf("ParseEvent(login) = %v, want EInvalid listing the events", err)
	}
}

func TestRefusedLoginsAreFolded(t *testing.T) {
	st := &memStore{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := New(st, nil, 0)
	r.Now = func() time.Time { return now }
	refused := func(ip, reason string) {
		r.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditLoginFailed, Username: "bob", IP: ip, Detail: reason})
	}
	for range 100 {
		refused("192.0.2.1", auth.AuditReasonThrottled)
		refused("192.0.2.1", auth.AuditReasonHashingBusy)
		refused("192.0.2.1", auth.AuditReasonWrongPassword) // never folded
		refused("198.51.100.7", auth.AuditReasonThrottled)
		now = now.Add(time.Millisecond)
	}
	if len(st.events) != 103 {
		t.Fatalf("%d events recorded during the flood, want 100 wrong passwords + 3 refused", len(st.events))
	}
	r.Flush(context.Background()) // the window has not ended: nothing yet
	if len(st.events) != 103 {
		t.Fatalf("flush inside the window recorded %d", len(st.events)-103)
	}
	now = now.Add(FoldWindow)
	refused("192.0.2.1", auth.AuditReasonThrottled) // the summary, then this one
	if len(st.events) != 105 {
		t.Fatalf("%d events", len(st.events))
	}
	if got := st.events[103].Detail; got != "throttled; 99 more like it folded in, from 2026-01-02T03:04:05Z" || st.events[103].IP != "192.0.2.1" {
		t.Fatalf("summary %+v", st.events[103])
	}
	if st.events[104].Detail != auth.AuditReasonThrottled {
		t.Fatalf("after the window %+v", st.events[104])
	}
	r.Flush(context.Background())
	var details []string
	for _, e := range st.events[105:] {
		details = append(details, e.IP+" "+e.Detail)
	}
	if len(details) != 2 || !strings.Contains(strings.Join(details, "|"), "192.0.2.1 hashing_busy; 99 more") ||
		!strings.Contains(strings.Join(details, "|"), "198.51.100.7 throttled; 99 more") {
		t.Fatalf("flushed %q", details)
	}
	r.Flush(context.Background())
	if len(st.events) != 107 {
		t.Fatalf("a second flush recorded again: %d", len(st.events))
	}
}

func TestFoldingIsBounded(t *testing.T) {
	st := &memStore{}
	now := time.Now()
	r := New(st, nil, 0)
	r.Now = func() time.Time { return now }
	for i := range maxFolds + 500 {
		r.Record(context.Background(), Origin{}, auth.AuditEvent{Event: auth.AuditLoginFailed, IP: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Detail: auth.AuditReasonThrottled})
	}
	if n := len(r.folds.folds); n > maxFolds+1 {
		t.Fatalf("%d folds held", n)
	}
	// Every address past the bound shares one fold: one more event.
	if len(st.events) != maxFolds+1 {
		t.Fatalf("%d events", len(st.events))
	}
}
