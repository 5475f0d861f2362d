package sqlstore

import "context"

// dialect is what differs between SQLite and PostgreSQL. The queries do
// not: both run the same SQL text.
type dialect interface {
	// name is the dialect's directory under migrations/.
	name() string
	// lock serialises the transactions that take the same key, until tx
	// ends. SQLite needs nothing: its write transactions are serial.
	lock(ctx context.Context, tx querier, key lockKey) error
	// classify recognises the driver's own errors.
	classify(err error) errKind
	// retryable reports whether the database aborted a transaction that
	// may simply be run again (a deadlock or serialization failure).
	retryable(err error) bool
	// isolate runs fn inside tx so that a failure of fn is undone alone
	// and returned as fnErr, leaving tx usable; err is a failure that broke
	// tx.
	isolate(ctx context.Context, tx querier, fn func() error) (fnErr, err error)
	// conflictOn reports whether err is a violation of the unique index ix.
	conflictOn(err error, ix uniqueIndex) bool
	// skipLocked ends a subquery that picks rows to claim: PostgreSQL
	// locks them and passes over those another transaction holds;
	// SQLite, whose writes are serial, needs nothing.
	skipLocked() string
}

// uniqueIndex names a unique index the way each dialect reports its
// violation: PostgreSQL by the index's name, SQLite by its columns.
type uniqueIndex struct {
	name    string // "users_email_key"
	columns string // "users.email_key"
}

// lockKey names a lock taken with dialect.lock.
type lockKey int32

const (
	// lockMigrate is held while a migration is checked and applied, so
	// that replicas starting together apply each one once.
	lockMigrate lockKey = 0x47480001 // "GH" 1
	// lockRevocations is held from the insertion of revocations to the
	// commit, so that their seq order is their commit order (see
	// insertRevocations).
	lockRevocations lockKey = 0x47480002 // "GH" 2
	// lockAdmins is held by a change that must leave an active
	// administrator, from the count to the commit.
	lockAdmins lockKey = 0x47480003 // "GH" 3
)
