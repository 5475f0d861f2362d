package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

type revocationJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Exp  int64  `json:"exp"`
}

// revocations: GET /auth/revocations[?cursor=N] → the denylist (all of it
// without a cursor, what was added since with one) and the next cursor,
// so that resource services can reject revoked tokens without a call per
// request. The ids are opaque and useless without the tokens they name.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	var (
		recs   []auth.Revocation
		cursor int64
		err    error
	)
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, perr := strconv.ParseInt(c, 10, 64)
		if perr != nil || n < 0 {
			return auth.Errorf(auth.EInvalid, "cursor must be a non-negative integer")
		}
		recs, cursor, err = s.cfg.Revocations.RevocationsSince(r.Context(), n)
	} else {
		recs, cursor, err = s.cfg.Revocations.Revocations(r.Context(), time.Now())
	}
	if err != nil {
		return err
	}
	out := struct {
		Revocations []revocationJSON `json:"revocations"`
		Cursor      int64            `json:"cursor"`
	}{Revocations: make([]revocationJSON, 0, len(recs)), Cursor: cursor}
	for _, rec := range recs {
		out.Revocations = append(out.Revocations, revocationJSON{string(rec.Kind), rec.ID, rec.ExpiresAt.Unix()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
