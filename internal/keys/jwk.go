package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is the public half of a signing key as RFC 7517 publishes it.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

var b64 = base64.RawURLEncoding

// publicJWK describes pub as a JWK without kid, alg and use.
func publicJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y, fixed width
		if err != nil {
			return JWK{}, fmt.Errorf("encode EC key: %w", err)
		}
		n := (len(raw) - 1) / 2
		return JWK{Kty: "EC", Crv: k.Curve.Params().Name, X: b64.EncodeToString(raw[1 : 1+n]), Y: b64.EncodeToString(raw[1+n:])}, nil
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	}
	return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url: the
// key id Gatehouse gives every key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// The required members; encoding/json writes map keys in order and
	// base64url values need no escaping, so this is the canonical form.
	var members map[string]string
	switch j.Kty {
	case "EC":
		members = map[string]string{"crv": j.Crv, "kty": j.Kty, "x": j.X, "y": j.Y}
	case "OKP":
		members = map[string]string{"crv": j.Crv, "kty": j.Kty, "x": j.X}
	case "RSA":
		members = map[string]string{"e": j.E, "kty": j.Kty, "n": j.N}
	}
	canon, err := json.Marshal(members)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return b64.EncodeToString(sum[:]), nil
}
