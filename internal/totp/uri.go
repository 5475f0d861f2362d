package totp

import "strings"

// URI returns the key URI that enrols secret in an authenticator app
// (Google Authenticator's key URI format):
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// Issuer and account are percent-encoded (UTF-8) everywhere they appear,
// ":" included, so neither can split the label; the issuer parameter is
// the one apps trust. With an empty issuer the label is the account alone
// and there is no issuer parameter.
func URI(issuer, account string, secret []byte) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(Encode(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=6&period=30")
	return b.String()
}

// escape percent-encodes every byte of s but RFC 3986's unreserved
// characters and "@" (which needs no escaping in a path or a query, and
// reads better in an account name).
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '@':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}
