package auth

// Effects are the side effects that must commit with a store mutation, in
// its own transaction: audit events, one-time secrets and outbox messages.
//
// Audit events are written under a savepoint of their own: a failed insert
// is undone alone and reported to AuditFailed while the change still
// commits, so the audit trail never fails the request it describes. A
// one-time secret or a message that cannot be stored fails the whole
// mutation.
type Effects struct {
	// Audit are the events recorded with the change. Where an event leaves
	// UserID, Username or SessionID empty, the store fills in the user and
	// the session the mutation touched (the id of a user it created, the
	// session of a refresh token). A change that ends sessions appends
	// "sessions_ended=N" to each event's Detail.
	Audit []AuditEvent
	// Void lists purposes whose usable secrets of the user the mutation
	// touched are voided, before Secrets are issued (a newer link voids
	// the older; a new set of codes replaces the old).
	Void []SecretPurpose
	// Secrets are issued with the change (see SecretStore.IssueSecret).
	Secrets []OneTimeSecret
	// Mail are messages put in the outbox with the change (a link, a
	// notice): they are sent only if it commits, and are not lost if the
	// process dies after it does. Where a message leaves UserID empty,
	// the store fills in the user the mutation touched.
	Mail []Mail
	// AuditFailed, when set, is told of each event that could not be
	// written.
	AuditFailed func(AuditEvent, error)
}

// EndSessions says which of a user's sessions a change to the user ends.
// The zero value ends none: a change that does not make an outstanding
// token lie (a verified address, a linked identity) logs nobody out.
type EndSessions struct {
	All    bool   // end the user's live sessions…
	Except string // …but this one, when set
}
