// Package auth holds Gatehouse's domain: users, sessions, revocations and
// signing keys, the errors every layer speaks, and the small storage
// interfaces that the rest of the program consumes. It imports no driver,
// no HTTP and no JOSE code; backends (internal/sqlstore) implement the
// interfaces and the HTTP layer (internal/server) maps the errors to status
// codes.
package auth
