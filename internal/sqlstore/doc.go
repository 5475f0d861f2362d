// Package sqlstore implements auth.Store on SQLite (through the pure-Go
// driver modernc.org/sqlite) and on PostgreSQL (through pgx's database/sql
// adapter).
//
// Both dialects run the same hand-written SQL: $n placeholders, times as
// BIGINT unix milliseconds (UTC), ids and hashes as TEXT. What differs, the
// DDL, the connection set-up, locking and the classification of driver
// errors, lives in sqlite.go, postgres.go and the per-dialect migration
// directories.
//
// Concurrency rests on the database, never on a read followed by a write:
// a refresh token is used up by a conditional UPDATE, so of any number of
// concurrent rotations exactly one changes the row. SQLite serialises write
// transactions (one writer connection, BEGIN IMMEDIATE); PostgreSQL
// serialises them on the row lock that the UPDATE takes. Outbox messages
// are claimed the same way, with a lease: one UPDATE picks the due rows
// (FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent senders pass over
// each other's rows), and an outcome is recorded only under its lease.
//
// Open does not migrate: call Migrate (gatehouse migrate and serve do).
package sqlstore
