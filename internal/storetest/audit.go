package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// record stores e and returns it with its id set.
func record(t *testing.T, s auth.Store, e auth.AuditEvent) auth.AuditEvent {
	t.Helper()
	must(t, s.RecordAudit(t.Context(), &e), "RecordAudit")
	if e.ID <= 0 {
		t.Fatalf("RecordAudit set no id: %+v", e)
	}
	return e
}

// auditIDs lists the events that f selects and returns their ids.
func auditIDs(t *testing.T, s auth.Store, f auth.AuditFilter) []int64 {
	t.Helper()
	events, err := s.AuditEvents(t.Context(), f)
	must(t, err, "AuditEvents")
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// newestFirst returns the ids of events, highest first.
func newestFirst(events ...auth.AuditEvent) []int64 {
	var ids []int64
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids
}

func testRecordAudit(t *testing.T, s auth.Store) {
	now := present()
	full := record(t, s, auth.AuditEvent{
		Time: now.Add(-time.Minute), Event: auth.AuditLoginSucceeded, UserID: "u-1", Username: "Zoë",
		SessionID: "s-1", ActorID: "a-1", Actor: "root", IP: "2001:db8::1", UserAgent: "curl/8.5 (ünïcode)",
		Detail: "rotated",
	})
	before := present()
	bare := record(t, s, auth.AuditEvent{Event: auth.AuditKeyRotated})
	if bare.ID <= full.ID {
		t.Fatalf("ids %d then %d: want increasing", full.ID, bare.ID)
	}
	if bare.Time.Before(before) || bare.Time.After(present().Add(time.Second)) {
		t.Fatalf("an event without a time got %v, want the present", bare.Time)
	}
	events, err := s.AuditEvents(t.Context(), auth.AuditFilter{Limit: 10})
	must(t, err, "AuditEvents")
	if len(events) != 2 {
		t.Fatalf("AuditEvents = %+v, want 2 events", events)
	}
	if got := events[1]; !got.Time.Equal(full.Time) || !sameAuditFields(got, full) {
		t.Fatalf("stored event:\n got %+v\nwant %+v", got, full)
	}
	if events[0].ID != bare.ID || events[0].Event != auth.AuditKeyRotated || events[0].UserID != "" || !events[0].Time.Equal(bare.Time) {
		t.Fatalf("newest event %+v, want %+v", events[0], bare)
	}
	if got, err := s.AuditEvents(t.Context(), auth.AuditFilter{}); err != nil || len(got) != 0 {
		t.Fatalf("AuditEvents with limit 0 = %+v, %v; want none", got, err)
	}
}

func sameAuditFields(a, b auth.AuditEvent) bool {
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b
}

func testAuditFilters(t *testing.T, s auth.Store) {
	now := present()
	at := func(minutes int) time.Time { return now.Add(time.Duration(minutes) * time.Minute) }
	login := record(t, s, auth.AuditEvent{Time: at(-50), Event: auth.AuditLoginSucceeded, UserID: "id-alice", Username: "Alice"})
	refresh := record(t, s, auth.AuditEvent{Time: at(-40), Event: auth.AuditRefreshed, UserID: "id-alice", Username: "Alice"})
	other := record(t, s, auth.AuditEvent{Time: at(-30), Event: auth.AuditLoginSucceeded, UserID: "id-bob", Username: "bob"})
	unknown := record(t, s, auth.AuditEvent{Time: at(-20), Event: auth.AuditLoginFailed, Username: "ALICE", Detail: auth.AuditReasonUnknownUser})
	byAdmin := record(t, s, auth.AuditEvent{Time: at(-10), Event: auth.AuditUserDeleted, UserID: "id-alice", Username: "Alice", ActorID: "id-bob", Actor: "bob"})
	rotated := record(t, s, auth.AuditEvent{Time: at(0), Event: auth.AuditKeyRotated, Actor: "scheduler"})
	all := []auth.AuditEvent{login, refresh, other, unknown, byAdmin, rotated}

	for _, tc := range []struct {
		name string
		f    auth.AuditFilter
		want []auth.AuditEvent
	}{
		{"none", auth.AuditFilter{}, all},
		{"user id", auth.AuditFilter{User: "id-alice"}, []auth.AuditEvent{login, refresh, byAdmin}},
		{"username, any case", auth.AuditFilter{User: "aLiCe"}, []auth.AuditEvent{login, refresh, unknown, byAdmin}},
		{"username, fullwidth", auth.AuditFilter{User: "ｂｏｂ"}, []auth.AuditEvent{other}},
		{"actor is not the user", auth.AuditFilter{User: "id-bob"}, []auth.AuditEvent{other}},
		{"nobody", auth.AuditFilter{User: "carol"}, nil},
		{"event", auth.AuditFilter{Event: auth.AuditLoginSucceeded}, []auth.AuditEvent{login, other}},
		{"since, inclusive", auth.AuditFilter{Since: at(-20)}, []auth.AuditEvent{unknown, byAdmin, rotated}},
		{"until, exclusive", auth.AuditFilter{Until: at(-30)}, []auth.AuditEvent{login, refresh}},
		{"since and until", auth.AuditFilter{Since: at(-40), Until: at(-10)}, []auth.AuditEvent{refresh, other, unknown}},
		{"everything", auth.AuditFilter{User: "alice", Event: auth.AuditRefreshed, Since: at(-45), Until: at(-35)}, []auth.AuditEvent{refresh}},
		{"before", auth.AuditFilter{Before: other.ID}, []auth.AuditEvent{login, refresh}},
		{"before and user", auth.AuditFilter{Before: byAdmin.ID, User: "Alice"}, []auth.AuditEvent{login, refresh, unknown}},
	} {
		tc.f.Limit = 100
		got, want := auditIDs(t, s, tc.f), newestFirst(tc.want...)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %+v selects %v, want %v", tc.name, tc.f, got, want)
		}
	}
	if got := auditIDs(t, s, auth.AuditFilter{Limit: 2}); !slices.Equal(got, newestFirst(byAdmin, rotated)) {
		t.Errorf("limit 2 selects %v, want the two newest", got)
	}
}

func testAuditPaging(t *testing.T, s auth.Store) {
	now := present()
	var all, mine []auth.AuditEvent
	for i := range 11 {
		e := auth.AuditEvent{Time: now.Add(time.Duration(i) * time.Second), Event: auth.AuditRefreshed, UserID: fmt.Sprintf("u%d", i%2)}
		e = record(t, s, e)
		all = append(all, e)
		if e.UserID == "u1" {
			mine = append(mine, e)
		}
	}
	for _, tc := range []struct {
		f    auth.AuditFilter
		want []auth.AuditEvent
	}{
		{auth.AuditFilter{Limit: 3}, all},
		{auth.AuditFilter{Limit: 2, User: "u1"}, mine},
		{auth.AuditFilter{Limit: 11}, all},
	} {
		var got []int64
		for page := 0; ; page++ {
			ids := auditIDs(t, s, tc.f)
			if len(ids) > tc.f.Limit || page > len(tc.want) {
				t.Fatalf("page %d of %+v has %d events", page, tc.f, len(ids))
			}
			if len(ids) == 0 {
				break
			}
			got = append(got, ids...)
			tc.f.Before = ids[len(ids)-1]
		}
		if want := newestFirst(tc.want...); !slices.Equal(got, want) {
			t.Fatalf("paging %+v went through %v, want %v", tc.f, got, want)
		}
	}
}

func testPruneAudit(t *testing.T, s auth.Store) {
	now := present()
	old1 := record(t, s, auth.AuditEvent{Time: now.Add(-3 * time.Hour), Event: auth.AuditLoginFailed})
	old2 := record(t, s, auth.AuditEvent{Time: now.Add(-2 * time.Hour), Event: auth.AuditLoginFailed})
	edge := record(t, s, auth.AuditEvent{Time: now.Add(-time.Hour), Event: auth.AuditLoginFailed})
	fresh := record(t, s, auth.AuditEvent{Time: now, Event: auth.AuditLoginSucceeded})
	n, err := s.PruneAudit(t.Context(), now.Add(-time.Hour))
	must(t, err, "PruneAudit")
	if n != 2 {
		t.Fatalf("PruneAudit deleted %d events, want 2", n)
	}
	if got := auditIDs(t, s, auth.AuditFilter{Limit: 10}); !slices.Equal(got, newestFirst(edge, fresh)) {
		t.Fatalf("after pruning: %v, want %v (not %d, %d)", got, newestFirst(edge, fresh), old1.ID, old2.ID)
	}
	n, err = s.PruneAudit(t.Context(), now.Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("PruneAudit again = %d, %v; want 0", n, err)
	}
	n, err = s.PruneAudit(t.Context(), now.Add(time.Millisecond))
	if err != nil || n != 2 {
		t.Fatalf("PruneAudit of everything = %d, %v; want 2", n, err)
	}
	// Ids are never reused, so an old cursor never skips new events.
	if next := record(t, s, auth.AuditEvent{Event: auth.AuditLogout}); next.ID <= fresh.ID {
		t.Fatalf("after pruning everything the next id is %d, not above %d", next.ID, fresh.ID)
	}
}
