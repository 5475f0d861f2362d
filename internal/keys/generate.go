package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// RSABits is the size of generated RS256 keys.
const RSABits = 2048

// Generate makes a new private key for alg (ES256, EdDSA or RS256) and
// describes it as a SigningKey that activates at activatesAt.
func Generate(alg string, now, activatesAt time.Time) (auth.SigningKey, error) {
	priv, err := newPrivateKey(alg)
	if err != nil {
		return auth.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("encode %s key: %w", alg, err)
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return auth.SigningKey{}, err
	}
	return auth.SigningKey{ID: kid, Algorithm: alg, PrivateKey: der, CreatedAt: now, ActivatesAt: activatesAt}, nil
}

func newPrivateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case "RS256":
		return rsa.GenerateKey(rand.Reader, RSABits)
	}
	return nil, fmt.Errorf("no key type for algorithm %q", alg)
}

// parsePrivate decodes a stored key and checks it suits its algorithm.
func parsePrivate(k auth.SigningKey) (crypto.Signer, error) {
	raw, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	var ok bool
	switch priv := raw.(type) {
	case *ecdsa.PrivateKey:
		ok = k.Algorithm == "ES256" && priv.Curve == elliptic.P256()
	case ed25519.PrivateKey:
		ok = k.Algorithm == "EdDSA"
	case *rsa.PrivateKey:
		ok = k.Algorithm == "RS256" && priv.N.BitLen() >= 2048
	}
	if !ok {
		return nil, fmt.Errorf("key %s: a %T does not suit %s", k.ID, raw, k.Algorithm)
	}
	return raw.(crypto.Signer), nil
}
