package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/verify"
)

// Signer signs access tokens with one key. It is safe for concurrent use.
type Signer struct {
	alg    string
	kid    string
	key    any
	method jwt.SigningMethod
	header string // base64url of the JSON header, the same for every token
}

// NewSigner returns a Signer for alg (verify.ES256, verify.EdDSA, verify.RS256 or verify.HS256) and key:
// an *ecdsa.PrivateKey on P-256, an ed25519.PrivateKey, an *rsa.PrivateKey
// of at least verify.MinRSABits, or a []byte secret of at least verify.MinHMACKeyBytes
// (copied). kid is required for the asymmetric algorithms and usually ""
// for verify.HS256.
func NewSigner(alg, kid string, key any) (*Signer, error) {
	if kid == "" && alg != verify.HS256 {
		return nil, fmt.Errorf("token: a %s key needs a kid", alg)
	}
	if err := checkPrivateKey(alg, key); err != nil {
		return nil, err
	}
	if b, ok := key.([]byte); ok {
		key = append([]byte(nil), b...)
	}
	h, err := json.Marshal(header{Alg: alg, Kid: kid, Typ: "at+jwt"})
	if err != nil {
		return nil, err
	}
	return &Signer{
		alg:    alg,
		kid:    kid,
		key:    key,
		method: jwt.GetSigningMethod(alg),
		header: base64.RawURLEncoding.EncodeToString(h),
	}, nil
}

// header is the JOSE header of every access token.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ"`
}

// checkPrivateKey reports whether key has the type and size that alg needs.
func checkPrivateKey(alg string, key any) error {
	ok := false
	switch alg {
	case verify.ES256:
		k, is := key.(*ecdsa.PrivateKey)
		ok = is && k != nil && k.Curve == elliptic.P256()
	case verify.EdDSA:
		k, is := key.(ed25519.PrivateKey)
		ok = is && len(k) == ed25519.PrivateKeySize
	case verify.RS256:
		k, is := key.(*rsa.PrivateKey)
		ok = is && k != nil && k.N != nil && k.N.BitLen() >= verify.MinRSABits
	case verify.HS256:
		k, is := key.([]byte)
		ok = is && len(k) >= verify.MinHMACKeyBytes
	default:
		return fmt.Errorf("token: unsupported algorithm %q", alg)
	}
	if !ok {
		return fmt.Errorf("token: wrong key type or size for %s", alg)
	}
	return nil
}

// KeyID returns the kid put in every token's header ("" for none).
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the signing algorithm.
func (s *Signer) Algorithm() string { return s.alg }

// AccessClaims describe an access token to sign.
type AccessClaims struct {
	Issuer    string        // iss
	Subject   string        // sub: the user id
	Audience  string        // aud, omitted when ""
	SessionID string        // sid
	Username  string        // username
	Role      string        // role
	IssuedAt  time.Time     // iat and nbf; truncated to the second
	TTL       time.Duration // exp = IssuedAt + TTL
	AuthTime  time.Time     // auth_time: when the user authenticated; omitted when zero
	AMR       []string      // amr: how (RFC 8176); omitted when empty
}

// wireClaims is the JSON payload of an access token.
type wireClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud,omitempty"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ID        string   `json:"jti"`
	SessionID string   `json:"sid"`
	Type      string   `json:"type"`
	Username  string   `json:"username"`
	Role      string   `json:"role"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	AMR       []string `json:"amr,omitempty"`
}

// Sign returns a signed access token for c, its fresh jti (128 random
// bits, base64url) and its expiry.
func (s *Signer) Sign(c AccessClaims) (token, jti string, exp time.Time, err error) {
	if err := c.check(); err != nil {
		return "", "", time.Time{}, err
	}
	jti = randomString(16)
	iat := c.IssuedAt.Truncate(time.Second)
	exp = iat.Add(c.TTL).Truncate(time.Second)
	w := wireClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		ExpiresAt: exp.Unix(), IssuedAt: iat.Unix(), NotBefore: iat.Unix(),
		ID: jti, SessionID: c.SessionID, Type: "access",
		Username: c.Username, Role: c.Role, AMR: c.AMR,
	}
	if !c.AuthTime.IsZero() {
		w.AuthTime = c.AuthTime.Unix()
	}
	payload, err := json.Marshal(w)
	if err != nil {
		return "", "", time.Time{}, err
	}
	token, err = s.sign(payload)
	return token, jti, exp, err
}

// check rejects claims that would make a token verify refuses.
func (c AccessClaims) check() error {
	switch {
	case c.Issuer == "" || c.Subject == "" || c.SessionID == "":
		return errors.New("token: Issuer, Subject and SessionID are required")
	case c.IssuedAt.IsZero():
		return errors.New("token: IssuedAt is required")
	case c.TTL < time.Second:
		return errors.New("token: TTL must be at least one second")
	}
	return nil
}

// sign returns header.payload.signature.
func (s *Signer) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(s.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	b = append(b, s.header...)
	b = append(b, '.')
	b = enc.AppendEncode(b, payload)
	sig, err := s.method.Sign(string(b), s.key)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	b = append(b, '.')
	b = enc.AppendEncode(b, sig)
	return string(b), nil
}

// randomString returns n random bytes, base64url-encoded without padding.
// crypto/rand.Read never fails (it crashes the program instead).
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
