package verify

import (
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// The sentinel errors of Verify and BearerToken. Test for them with
// errors.Is; one failure may match several of them.
var (
	// ErrNoToken: no token was presented (empty, or not a Bearer header).
	ErrNoToken = errors.New("verify: no token")
	// ErrMalformed: not a well-formed Gatehouse access token: bad encoding
	// or JSON, a required claim (exp, sub, jti, sid) missing or of the
	// wrong type, or a claim present twice.
	ErrMalformed = errors.New("verify: malformed token")
	// ErrAlgorithm: the alg is not allowed, is "none", or is not the alg the
	// key is bound to.
	ErrAlgorithm = errors.New("verify: algorithm not allowed")
	// ErrUnknownKey: the KeySet has no usable key with the token's kid, or
	// failed to look it up.
	ErrUnknownKey = errors.New("verify: unknown key")
	// ErrSignature: the signature does not match.
	ErrSignature = errors.New("verify: invalid signature")
	// ErrExpired: exp has passed (beyond the leeway).
	ErrExpired = errors.New("verify: token expired")
	// ErrNotYetValid: nbf or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("verify: token not yet valid")
	// ErrIssuer: iss is missing or is not the configured issuer.
	ErrIssuer = errors.New("verify: wrong issuer")
	// ErrAudience: aud does not contain the configured audience.
	ErrAudience = errors.New("verify: wrong audience")
	// ErrTokenType: not an access token (header typ or claim type).
	ErrTokenType = errors.New("verify: not an access token")
	// ErrRevoked: the token or its session has been revoked.
	ErrRevoked = errors.New("verify: token revoked")
	// ErrCritical: the token has a crit header; no extension is understood.
	ErrCritical = errors.New("verify: unsupported critical header")
	// ErrTooLarge: the token is longer than MaxTokenSize.
	ErrTooLarge = errors.New("verify: token too large")
)

// sentinels lists the errors above, in the order they are reported.
var sentinels = []error{
	ErrNoToken, ErrTooLarge, ErrMalformed, ErrAlgorithm, ErrCritical,
	ErrTokenType, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid,
	ErrIssuer, ErrAudience, ErrRevoked,
}

// fromJWT maps golang-jwt's errors to ours. ErrTokenSignatureInvalid and
// ErrTokenUnverifiable are handled in classify.
var fromJWT = []struct{ jwt, ours error }{
	{jwt.ErrTokenMalformed, ErrMalformed},
	{jwt.ErrTokenRequiredClaimMissing, ErrMalformed},
	{jwt.ErrInvalidType, ErrMalformed},
	{jwt.ErrTokenExpired, ErrExpired},
	{jwt.ErrTokenNotValidYet, ErrNotYetValid},
	{jwt.ErrTokenUsedBeforeIssued, ErrNotYetValid},
	{jwt.ErrTokenInvalidIssuer, ErrIssuer},
	{jwt.ErrTokenInvalidAudience, ErrAudience},
}

// verifyError is what Verify returns: the sentinels that apply, and the
// underlying error for the logs.
type verifyError struct {
	kinds []error
	cause error
}

func (e *verifyError) Error() string {
	var b strings.Builder
	for i, k := range e.kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.Error())
	}
	if e.cause != nil {
		b.WriteString(" (")
		b.WriteString(e.cause.Error())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the sentinels, then the cause.
func (e *verifyError) Unwrap() []error {
	if e.cause == nil {
		return e.kinds
	}
	return append(e.kinds[:len(e.kinds):len(e.kinds)], e.cause)
}

// fail returns an error that matches kind and wraps cause (which may be nil).
func fail(kind, cause error) error {
	return &verifyError{kinds: []error{kind}, cause: cause}
}

// classify turns a golang-jwt error into ours. keyFound says whether the
// key function returned a key, which tells a bad signature
// (ErrTokenSignatureInvalid after the key was found) from a disallowed
// method (the same jwt error, before).
func classify(err error, keyFound bool) error {
	var kinds []error
	add := func(k error) {
		for _, have := range kinds {
			if have == k {
				return
			}
		}
		kinds = append(kinds, k)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			add(s)
		}
	}
	for _, m := range fromJWT {
		if errors.Is(err, m.jwt) {
			add(m.ours)
		}
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		if keyFound {
			add(ErrSignature)
		} else {
			add(ErrAlgorithm)
		}
	}
	if len(kinds) == 0 && errors.Is(err, jwt.ErrTokenUnverifiable) {
		add(ErrAlgorithm) // alg missing or unknown to golang-jwt
	}
	if len(kinds) == 0 {
		add(ErrMalformed)
	}
	return &verifyError{kinds: kinds, cause: err}
}
