package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// testRevocationsPage reads the denylist in bounded pages: in order,
// never more than the limit, expired entries left out, More set exactly
// when entries were left out, and a caught-up reader sees what is added
// later from its cursor.
func testRevocationsPage(t *testing.T, s auth.Store) {
	now := present()
	var live []auth.Revocation
	for i := range 25 {
		until := now.Add(time.Hour)
		if i%5 == 2 {
			until = now.Add(-time.Minute) // already expired: never listed
		}
		r, err := s.RevokeToken(t.Context(), fmt.Sprintf("page-%d", i), until, auth.Effects{})
		must(t, err, "RevokeToken")
		if i%5 != 2 {
			live = append(live, r)
		}
	}
	var got []auth.Revocation
	var cursor int64
	for pages := 1; ; pages++ {
		page, err := s.RevocationsPage(t.Context(), cursor, now, 7)
		must(t, err, "RevocationsPage")
		if len(page.Revocations) > 7 {
			t.Fatalf("page %d has %d entries, over the limit 7", pages, len(page.Revocations))
		}
		if page.Next <= cursor && len(page.Revocations) > 0 {
			t.Fatalf("page %d moved the cursor from %d to %d", pages, cursor, page.Next)
		}
		got = append(got, page.Revocations...)
		cursor = page.Next
		if wantMore := len(got) < len(live); page.More != wantMore {
			t.Fatalf("page %d: More = %v after %d of %d entries", pages, page.More, len(got), len(live))
		}
		if !page.More {
			if pages != 3 {
				t.Fatalf("%d live entries in %d pages of 7", len(live), pages)
			}
			break
		}
	}
	if !sameRevocations(got, live) {
		t.Fatalf("the pages hold %+v, want %+v", got, live)
	}
	all, _, err := s.Revocations(t.Context(), now)
	must(t, err, "Revocations")
	if !sameRevocations(all, live) {
		t.Fatalf("Revocations = %+v, the pages %+v", all, live)
	}

	// Caught up: an empty page that keeps the cursor, then what follows.
	page, err := s.RevocationsPage(t.Context(), cursor, now, 7)
	must(t, err, "RevocationsPage caught up")
	if len(page.Revocations) != 0 || page.More || page.Next != cursor {
		t.Fatalf("caught up at %d: %+v", cursor, page)
	}
	r, err := s.RevokeToken(t.Context(), "page-late", now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeToken")
	page, err = s.RevocationsPage(t.Context(), cursor, now, 7)
	must(t, err, "RevocationsPage after a new revocation")
	if !sameRevocations(page.Revocations, []auth.Revocation{r}) || page.More || page.Next <= cursor {
		t.Fatalf("after a new revocation: %+v, cursor %d", page, cursor)
	}
	// Later, entries that expired meanwhile are left out too.
	page, err = s.RevocationsPage(t.Context(), 0, now.Add(2*time.Hour), 100)
	must(t, err, "RevocationsPage later")
	if len(page.Revocations) != 0 || page.More {
		t.Fatalf("two hours later, every entry has expired: %+v", page)
	}
	_, err = s.RevocationsPage(t.Context(), 0, now, 0)
	wantCode(t, err, auth.EInvalid, "a limit of 0")
}
