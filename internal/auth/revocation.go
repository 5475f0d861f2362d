package auth

import "time"

// RevocationKind says what a revocation names.
type RevocationKind string

// The kinds of revocation. Every access token carries both a token id (jti)
// and a session id (sid); a token is rejected when either is revoked.
const (
	RevokedSession RevocationKind = "session"
	RevokedToken   RevocationKind = "token"
)

// Revocation is a durable entry of the denylist. It can be forgotten once
// ExpiresAt has passed: by then every token it names has expired.
type Revocation struct {
	Kind      RevocationKind
	ID        string
	ExpiresAt time.Time
}
