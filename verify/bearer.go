package verify

import (
	"context"
	"strings"
)

// BearerToken extracts the token from an Authorization header value of the
// form "Bearer <token>" (RFC 6750: the scheme in any letter case, one
// space, one token68). It returns ErrNoToken when the header is empty, has
// another scheme, or has no token, and ErrMalformed when the token is not a
// single token68 (extra spaces or fields, control characters, ...).
func BearerToken(header string) (string, error) {
	tok, err := bearerField(header)
	if err != nil {
		return "", err
	}
	if !isToken68(tok) {
		return "", ErrMalformed
	}
	return tok, nil
}

// bearerField is BearerToken without the check of the token's characters.
func bearerField(header string) (string, error) {
	if header == "" {
		return "", ErrNoToken
	}
	scheme, tok, found := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	if !found || tok == "" {
		return "", ErrNoToken
	}
	return tok, nil
}

// VerifyBearer verifies the access token of an Authorization header value:
// BearerToken, then Verify. A token verified before is found in the cache
// before its characters are checked again: it passed that check when it
// was first verified, and the check reads every byte of a token on every
// request.
func (v *Verifier) VerifyBearer(ctx context.Context, header string) (*Claims, error) {
	tok, err := bearerField(header)
	if err != nil {
		return nil, err
	}
	if c, ok := v.cached(tok); ok {
		return v.checkRevoked(c)
	}
	if !isToken68(tok) {
		return nil, ErrMalformed
	}
	return v.verifyUncached(ctx, tok)
}

// isToken68 reports whether s matches token68 of RFC 7235:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && token68Chars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// token68Chars marks the bytes of token68 before its "=" padding. A table
// because every authenticated request checks every byte of its token.
var token68Chars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isBase64URL(byte(c)) || strings.IndexByte(".~+/", byte(c)) >= 0
	}
	return t
}()
