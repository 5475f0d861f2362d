package auth

import "time"

// SigningKey is an asymmetric key that signs access tokens. Its state follows
// from its times: "next" before ActivatesAt, then "current" while it is the
// most recently activated key, then "retired" (still published in the JWKS
// so that the tokens it signed verify) until ExpiresAt, then gone.
type SigningKey struct {
	ID          string // kid: the RFC 7638 thumbprint of the public key
	Algorithm   string // ES256, EdDSA or RS256
	PrivateKey  []byte // PKCS #8, DER
	CreatedAt   time.Time
	ActivatesAt time.Time
	ExpiresAt   time.Time // zero until a newer key replaces it
}

// KeyState is where a key is in its life.
type KeyState string

// The key states.
const (
	KeyNext    KeyState = "next"
	KeyCurrent KeyState = "current"
	KeyRetired KeyState = "retired"
	KeyExpired KeyState = "expired"
)
