// Package password hashes and verifies Gatehouse's user passwords.
//
// New hashes are argon2id (RFC 9106) encoded as PHC strings,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64, which is what argon2-cffi,
// passlib and the reference implementation write and read. [DefaultParams]
// follows OWASP's recommendation (19 MiB, two passes, one lane).
//
// [Hasher.Verify] also accepts argon2id hashes with other parameters, within
// sane bounds, and bcrypt hashes ($2a$, $2b$ and $2y$) imported from older
// systems such as passlib. It reports when a hash should be replaced by one
// with the current parameters, so that the caller can rehash the password
// it has just verified, as passlib's CryptContext(deprecated="auto") does.
//
// Bcrypt only ever looks at the first 72 bytes of a password. Verify keeps
// that rule for bcrypt hashes: it truncates the password to 72 bytes before
// comparing, so a legacy hash made by passlib from a longer password (which
// passlib truncated) still verifies, and a long password matches a bcrypt
// hash exactly when its first 72 bytes do. Argon2id has no such limit.
//
// Hashing is deliberately expensive in CPU and memory, so a [Hasher] runs at
// most a fixed number of hashes at once. A call that cannot get a slot within
// the Hasher's maximum wait, or before its context is done, fails fast with
// [ErrBusy] instead of queueing without bound; the HTTP layer answers 503
// with a Retry-After of [Hasher.RetryAfter]. The argon2id working memory
// of the hashes in flight is kept for the next hash, outside the Go heap,
// and released after some idle time (see [github.com/gatehouse/gatehouse/internal/argon2]).
//
// To keep a login for an unknown username from being faster than a login
// with a wrong password, the caller runs [Hasher.VerifyUnknownUser], which
// verifies the password against a dummy hash with the current parameters
// and returns nil (or ErrBusy); the caller then fails the login.
//
// [ValidatePolicy] checks a new password against the password policy.
package password
