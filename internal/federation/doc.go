// Package federation signs users in through OpenID Connect providers
// (CONTRACT §7): Gatehouse is the relying party, and a provider is one
// more first factor of the login steps (internal/login), after which a
// second factor still applies.
//
// A flow runs on any replica. Start stores the flow as a row keyed by the
// hash of its state, bound to the hash of a secret in an HttpOnly
// cookie of the browser that started it (the binding); the nonce and the
// PKCE verifier sent to the provider are derived from that secret and the
// state, so the row holds nothing that would let a reader of the database
// finish a flow, and a callback in another browser (login CSRF) matches
// no row. The callback uses the row up once, exchanges the provider's code
// with the verifier, checks the ID token (signature by the provider's
// published keys, iss, aud, exp, nonce) and hands the sign-in over: to
// the client that started it, as a one-time code exchanged within 60 s
// with that client's own PKCE verifier (RFC 7636, RFC 8252), or in cookie
// mode as the session cookies. The provider's own tokens are never kept.
//
// An identity is keyed by (provider, subject), never by email. A first
// sign-in whose verified address belongs to an existing account links to
// it only when the provider is configured for it and the account's
// address is verified too; otherwise the user signs in another way and
// links the provider explicitly. An absent email_verified is false.
package federation
