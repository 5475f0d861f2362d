package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// This file is the one place where driver errors become auth errors.

// errKind is what a dialect makes of a driver error.
type errKind int

const (
	kindOther       errKind = iota
	kindConflict            // a unique or primary key violation
	kindMissingRef          // a foreign key violation: the referenced row is missing
	kindUnavailable         // the database cannot be reached or is overloaded
	kindInvalid             // the input is data the database refuses (a NUL byte, too long)
)

// op names a store operation and the client-safe messages of the domain
// errors it can return.
type op struct {
	name     string // for wrapped errors: "sqlstore: <name>: <cause>"
	notFound string // message of ENotFound (no row, or a missing reference)
	conflict string // message of EConflict (a duplicate key)
}

var opPing = op{name: "ping"}

// errUnavailable is the message of every EUnavailable from a store.
const errUnavailable = "Database unavailable"

// errInvalidText is the message of an EInvalid for input that no store
// keeps: the client sent it, so it is a client error, never a 500.
const errInvalidText = "Text must be valid UTF-8 without NUL bytes or control characters"

// fail turns err, returned by o, into what the store returns: nil stays
// nil, an *auth.Error passes unchanged, a driver error becomes ENotFound,
// EConflict or EUnavailable where it means that, and anything else is
// wrapped with the name of the operation. Input that the database refuses
// as data (PostgreSQL's class 22) is EInvalid: the client caused it.
func (s *Store) fail(o op, err error) error {
	if err == nil {
		return nil
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return err
	}
	switch s.classify(err) {
	case kindConflict:
		return auth.Wrap(auth.EConflict, err, orDefault(o.conflict, "Already exists"))
	case kindMissingRef:
		return auth.Wrap(auth.ENotFound, err, orDefault(o.notFound, "Not found"))
	case kindUnavailable:
		return auth.Wrap(auth.EUnavailable, err, errUnavailable)
	case kindInvalid:
		return auth.Wrap(auth.EInvalid, err, errInvalidText)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Wrap(auth.ENotFound, err, orDefault(o.notFound, "Not found"))
	}
	return fmt.Errorf("sqlstore: %s: %w", o.name, err)
}

// classify asks the dialect first, then recognises the failures that every
// driver reports the same way.
func (s *Store) classify(err error) errKind {
	if k := s.d.classify(err); k != kindOther {
		return k
	}
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return kindUnavailable
	}
	return kindOther
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// errBadRefresh is the answer to a refresh token that cannot be used.
func errBadRefresh() error {
	return auth.ErrBadRefresh
}
