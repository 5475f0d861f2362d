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

// RevocationPage is one bounded page of the denylist, in the order the
// revocations were recorded.
type RevocationPage struct {
	Revocations []Revocation
	// Next is the cursor after this page: pass it to read what follows.
	Next int64
	// More reports that revocations after Next were left out by the
	// page's limit; without it the reader has caught up.
	More bool
}
