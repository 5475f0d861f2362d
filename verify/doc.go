// Package verify checks Gatehouse access tokens. It is meant to be imported
// by any Go service that accepts those tokens, and depends on nothing of
// Gatehouse's internals, on no database and on no cache.
//
// The safe path is the only path:
//
//   - The accepted algorithms are a required part of [Config]; they are never
//     taken from the token. "none" is never accepted, in any letter case.
//   - A key is found only by the token's "kid" in the caller's [KeySet], and
//     every [Key] is bound to exactly one algorithm: a token whose "alg" is
//     not the key's is rejected, so a public key can never be used as an
//     HMAC secret. The "jwk", "jku", "x5u" and "x5c" headers are ignored;
//     nothing named by a token is ever fetched.
//   - A "crit" header is rejected: Gatehouse understands no extension.
//   - The header "typ" must be "at+jwt" (RFC 9068) and the claim "type" must
//     be "access"; "iss" must be the configured issuer, "exp", "sub", "jti"
//     and "sid" are required, "iat" and "nbf" are honoured, and "aud" must
//     contain the configured audience when one is set.
//   - Clock leeway defaults to zero and is capped at [MaxLeeway].
//   - Tokens longer than [MaxTokenSize] are refused before any parsing; a
//     token must be exactly three canonical, unpadded base64url segments
//     (no whitespace, no "=" padding, no stray trailing bits).
//   - A payload with two members whose names are equal ignoring case (which
//     encoding/json would silently merge, keeping the last) is rejected.
//
// Every failure is reported with one or more sentinel errors ([ErrExpired],
// [ErrSignature], ...) that work with [errors.Is]; several may apply at once.
// Map any of them to "401 Could not validate credentials".
//
// The signature check is golang-jwt/jwt v5, wrapped in one parser whose
// opt-in safety options (allowed methods, required expiry, issued-at check,
// issuer, audience, strict base64) are always on.
//
// ECDSA signatures are malleable: (r, s) and (r, N-s) both verify. Identify
// a token by its "jti" claim, never by its text.
package verify
