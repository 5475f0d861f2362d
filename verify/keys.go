package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
)

// The algorithms a Key can be bound to.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
	HS256 = "HS256" // HMAC with SHA-256 (a shared secret)
)

// Key size limits enforced on every Key.
const (
	MinRSABits      = 2048 // smallest RSA modulus accepted
	MinHMACKeyBytes = 32   // shortest HS256 secret accepted
)

// Key is a verification key the caller owns. It is bound to exactly one
// algorithm: a token is verified with it only when the token's alg equals
// Algorithm.
type Key struct {
	// ID is the kid that tokens name. It may be "" only for an HS256 secret.
	ID string
	// Algorithm is ES256, EdDSA, RS256 or HS256.
	Algorithm string
	// Key is an *ecdsa.PublicKey on P-256 (ES256), an ed25519.PublicKey
	// (EdDSA), an *rsa.PublicKey of at least MinRSABits (RS256), or a
	// []byte secret of at least MinHMACKeyBytes (HS256).
	Key any
}

// KeySet finds verification keys by kid.
type KeySet interface {
	// LookupKey returns the key whose ID is kid ("" when the token has no
	// kid). When there is none it returns an error that wraps
	// ErrUnknownKey. It may be called concurrently.
	LookupKey(ctx context.Context, kid string) (Key, error)
}

// StaticKeySet is a fixed KeySet, safe for concurrent use.
type StaticKeySet struct {
	keys map[string]Key
}

var _ KeySet = (*StaticKeySet)(nil)

// NewStaticKeySet checks every key (type, size, algorithm, a unique ID) and
// returns a KeySet of them. HS256 secrets are copied.
func NewStaticKeySet(keys ...Key) (*StaticKeySet, error) {
	s := &StaticKeySet{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("verify: two keys with id %q", k.ID)
		}
		if b, ok := k.Key.([]byte); ok {
			k.Key = append([]byte(nil), b...)
		}
		s.keys[k.ID] = k
	}
	return s, nil
}

// LookupKey implements KeySet.
func (s *StaticKeySet) LookupKey(_ context.Context, kid string) (Key, error) {
	k, ok := s.keys[kid]
	if !ok {
		return Key{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, truncate(kid, 64))
	}
	return k, nil
}

// checkKey reports whether k is a usable key for its algorithm.
func checkKey(k Key) error {
	if k.ID == "" && k.Algorithm != HS256 {
		return fmt.Errorf("verify: a %s key needs an ID (kid)", k.Algorithm)
	}
	if err := checkKeyMaterial(k.Algorithm, k.Key); err != nil {
		return fmt.Errorf("verify: key %q: %w", k.ID, err)
	}
	return nil
}

// checkKeyMaterial reports whether key has the type and size that alg needs.
func checkKeyMaterial(alg string, key any) error {
	switch alg {
	case ES256:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve != elliptic.P256() {
			return errors.New("ES256 needs an *ecdsa.PublicKey on P-256")
		}
	case EdDSA:
		k, ok := key.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return errors.New("EdDSA needs an ed25519.PublicKey")
		}
	case RS256:
		k, ok := key.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil || k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RS256 needs an *rsa.PublicKey of at least %d bits", MinRSABits)
		}
	case HS256:
		k, ok := key.([]byte)
		if !ok || len(k) < MinHMACKeyBytes {
			return fmt.Errorf("HS256 needs a []byte secret of at least %d bytes", MinHMACKeyBytes)
		}
	default:
		return fmt.Errorf("unsupported algorithm %q", truncate(alg, 32))
	}
	return nil
}

// truncate shortens s (which may come from a token) for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
