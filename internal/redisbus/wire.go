package redisbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// wireRecord is one element of a channel message; see the package doc.
type wireRecord struct {
	Kind auth.RevocationKind `json:"kind"`
	ID   string              `json:"id"`
	Exp  int64               `json:"exp"`
}

var (
	errNotArray = errors.New("message is not a JSON array")
	errKind     = errors.New("kind must be \"token\" or \"session\"")
	errID       = errors.New("empty id")
	errExp      = errors.New("exp must be a positive Unix time")
)

// encode renders recs as a channel message, refusing records that every
// subscriber would reject.
func encode(recs []auth.Revocation) ([]byte, error) {
	out := make([]wireRecord, len(recs))
	for i, r := range recs {
		out[i] = wireRecord{Kind: r.Kind, ID: r.ID, Exp: r.ExpiresAt.Unix()}
		if err := out[i].check(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	return json.Marshal(out)
}

// decode parses a channel message; any invalid record rejects it whole.
func decode(payload string) ([]auth.Revocation, error) {
	var in []wireRecord
	if err := json.Unmarshal([]byte(payload), &in); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, errNotArray
	}
	recs := make([]auth.Revocation, len(in))
	for i, w := range in {
		if err := w.check(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		recs[i] = auth.Revocation{Kind: w.Kind, ID: w.ID, ExpiresAt: time.Unix(w.Exp, 0)}
	}
	return recs, nil
}

func (w wireRecord) check() error {
	switch {
	case w.Kind != auth.RevokedToken && w.Kind != auth.RevokedSession:
		return errKind
	case w.ID == "":
		return errID
	case w.Exp <= 0:
		return errExp
	}
	return nil
}
