// Package redisbus fans revocations out through Redis, so that a revocation
// made on one Gatehouse replica reaches every other replica in milliseconds,
// and exposes revoked ids as plain keys that any service can check.
//
// The database stays the durable truth and every replica keeps the denylist
// in memory (package revocation). Redis only carries news: a replica that was
// disconnected reloads the whole list from the database when it subscribes
// again (the onConnect callback of [Bus.Run]), so nothing published while it
// was away stays missed. A replica must therefore record a revocation in the
// database before it calls [Bus.Publish].
//
// # Keys
//
// For every revocation that has not yet expired, [Bus.Publish] sets
//
//	revoked:<jti>          for a revoked access-token id
//	revoked-session:<sid>  for a revoked session
//
// to "1", with a TTL equal to the time left until the revocation's expiry
// (which already covers the verifiers' clock leeway). A resource service in
// any language rejects a token when EXISTS revoked:<jti> revoked-session:<sid>
// returns more than zero.
//
// # Channel
//
// Revocations are published on the channel "gatehouse:revocations" (see
// [Bus.Channel]). Each message is a compact JSON array of records:
//
//	[{"kind":"token","id":"<jti>","exp":1767225600},
//	 {"kind":"session","id":"<sid>","exp":1767225660}]
//
// kind is "token" or "session", id is non-empty, and exp is the expiry in
// Unix seconds, after which the record no longer matters. Records whose exp
// has already passed may still appear. Subscribers must ignore unknown
// fields; a message that is not such an array is malformed and skipped as a
// whole. Pub/sub delivers at most once: a subscriber that reconnects must
// reload its state from a durable source, as Gatehouse does.
//
// # Key changes
//
// A new signing key is announced on the channel "gatehouse:keys" (see
// [Bus.KeysChannel], [Bus.PublishKeyChange] and [Bus.RunKeys]); the message
// is the new key's kid. Subscribers reload the keys from the database.
//
// The keys and the channel names are prefixed with [Options.Prefix], which is
// empty in production.
package redisbus
