package verify

import "strings"

// BearerToken extracts the token from an Authorization header value of the
// form "Bearer <token>" (RFC 6750: the scheme in any letter case, one
// space, one token68). It returns ErrNoToken when the header is empty, has
// another scheme, or has no token, and ErrMalformed when the token is not a
// single token68 (extra spaces or fields, control characters, ...).
func BearerToken(header string) (string, error) {
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
	if !isToken68(tok) {
		return "", ErrMalformed
	}
	return tok, nil
}

// isToken68 reports whether s matches token68 of RFC 7235:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && (isBase64URL(s[i]) || strings.IndexByte(".~+/", s[i]) >= 0) {
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
