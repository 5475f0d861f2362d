package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/verify"
)

// Page sizes of GET /auth/revocations.
const (
	DefaultRevocationsPage = 1000
	MaxRevocationsPage     = 1000
)

// RevocationFeed is the durable denylist, read in bounded pages.
type RevocationFeed interface {
	RevocationsPage(ctx context.Context, cursor int64, now time.Time, limit int) (auth.RevocationPage, error)
}

type revocationJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Exp  int64  `json:"exp"`
}

// revocationsPage is the answer of GET /auth/revocations. Cursor is where
// to go on from, always; NextCursor is the same value while more entries
// follow at once, and null once the reader has caught up.
type revocationsPage struct {
	Revocations []revocationJSON `json:"revocations"`
	Cursor      int64            `json:"cursor"`
	NextCursor  *int64           `json:"next_cursor"`
}

// revocations: GET /auth/revocations[?cursor=N][&limit=M] → at most M
// (default and at most 1000) unexpired revocations recorded after cursor N
// (from the start without one), so that resource services can reject
// revoked tokens without a call per request. The ids are opaque and
// useless without the tokens they name; with RevocationsToken set, the
// feed also needs that bearer secret.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkFeedToken(r); err != nil {
		return err
	}
	cursor, limit, err := feedQuery(r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Revocations.RevocationsPage(r.Context(), cursor, time.Now(), limit)
	if err != nil {
		return err
	}
	out := revocationsPage{Revocations: make([]revocationJSON, 0, len(page.Revocations)), Cursor: page.Next}
	if page.More {
		out.NextCursor = &page.Next
	}
	for _, rec := range page.Revocations {
		out.Revocations = append(out.Revocations, revocationJSON{string(rec.Kind), rec.ID, rec.ExpiresAt.Unix()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// feedQuery reads cursor and limit.
func feedQuery(r *http.Request) (cursor int64, limit int, err error) {
	q := r.URL.Query()
	if c := q.Get("cursor"); c != "" {
		cursor, err = strconv.ParseInt(c, 10, 64)
		if err != nil || cursor < 0 {
			return 0, 0, auth.Errorf(auth.EInvalid, "cursor must be a non-negative integer")
		}
	}
	limit = DefaultRevocationsPage
	if l := q.Get("limit"); l != "" {
		limit, err = strconv.Atoi(l)
		if err != nil || limit < 1 || limit > MaxRevocationsPage {
			return 0, 0, auth.Errorf(auth.EInvalid, "limit must be an integer from 1 to %d", MaxRevocationsPage)
		}
	}
	return cursor, limit, nil
}

// checkFeedToken requires "Authorization: Bearer <RevocationsToken>" when
// a token is configured. The hashes are compared, in constant time, so
// that neither the secret's bytes nor its length leak through timing.
func (s *Server) checkFeedToken(r *http.Request) error {
	if s.cfg.RevocationsToken == "" {
		return nil
	}
	tok, err := verify.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return errNoToken
	}
	got, want := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.cfg.RevocationsToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return errBadToken
	}
	return nil
}
