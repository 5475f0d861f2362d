// Package token mints Gatehouse's tokens: signed access tokens (a compact
// JWS with typ "at+jwt", verified by package verify) and opaque refresh
// tokens, of which only a hash is ever stored.
package token
