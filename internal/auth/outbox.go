package auth

import (
	"context"
	"time"
)

// MailKind names what a message in the outbox is.
type MailKind string

// The kinds of message (CONTRACT §5), and the reset request.
const (
	MailVerification  MailKind = "verification"   // a link to verify the account's address
	MailReset         MailKind = "reset"          // a password-reset link
	MailAddressChange MailKind = "address_change" // a link, sent to a new address, that moves the account there
	MailNotice        MailKind = "notice"         // a notice without a link (a changed password, address, second factor)
	// MailResetRequest is not a message but a request for one: "send a
	// reset link to this address if an account uses it". It is stored
	// the same way whether or not one does, so that the request that
	// makes it cannot tell; the sender resolves it in the background
	// into a MailReset message, or into nothing (see OutboxStore.ReplaceMail).
	MailResetRequest MailKind = "reset_request"
)

// MailState is where a message is in its life.
type MailState string

// The states of a message.
const (
	MailPending MailState = "pending" // to be sent (again) at NextAttemptAt
	MailSent    MailState = "sent"
	MailFailed  MailState = "failed" // given up: a permanent error, or too many temporary ones
)

// Mail is a message in the outbox. It is stored in the transaction of the
// change it tells of, and sent in the background; its body, which may
// hold a live link, is blanked once it is sent or has failed.
type Mail struct {
	ID string // set by the store when empty (a UUIDv7)
	// MessageID is the RFC 5322 Message-ID, without the angle brackets,
	// the same on every attempt so that a message delivered twice (a
	// sender that died after the SMTP server took it) is seen as one.
	MessageID string
	Kind      MailKind
	To        string // one bare address
	UserID    string // the account the message concerns, "" if none
	Subject   string
	Text      string // the text/plain part; always present in a message
	HTML      string // the text/html part, "" for none
	State     MailState
	Attempts  int    // delivery attempts made so far
	LastError string // the last attempt's error, "" after a success
	CreatedAt time.Time
	// NextAttemptAt is when a pending message is due.
	NextAttemptAt time.Time
	SentAt        time.Time // zero unless sent
	// Lease identifies a claim (see OutboxStore.ClaimMail); "" when the
	// message is not claimed.
	Lease string
}

// MailFilter selects messages of the outbox for a listing.
type MailFilter struct {
	State MailState // "" for every state
	Limit int
	// Before, when set, returns only messages whose ID sorts before it
	// (the next page of a listing, newest first).
	Before string
}

// OutboxStore keeps the outbox. Messages enter it through Effects.Mail,
// with the change they tell of, or through EnqueueMail. Senders in any
// number of processes claim due messages with a lease, so that two never
// send the same one while the lease holds; a claim whose sender died is
// taken again once its lease ends.
type OutboxStore interface {
	// EnqueueMail stores m (pending, due now) with fx.
	EnqueueMail(ctx context.Context, m Mail, fx Effects) error
	// ClaimMail leases up to limit pending messages due at now, oldest
	// due first, to the caller until now+lease, and returns them with
	// their Lease set. Messages leased to another claim are skipped, not
	// waited for.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// MarkMailSent records that the message under that lease was sent:
	// its body is blanked. ENotFound if the lease was lost.
	MarkMailSent(ctx context.Context, id, lease string, now time.Time) error
	// RetryMail records a failed attempt and makes the message due again
	// at next. ENotFound if the lease was lost.
	RetryMail(ctx context.Context, id, lease string, next time.Time, lastError string) error
	// FailMail gives the message up: failed, body blanked, with fx.
	// ENotFound if the lease was lost.
	FailMail(ctx context.Context, id, lease string, lastError string, now time.Time, fx Effects) error
	// ReplaceMail deletes the claimed message (a resolved reset request)
	// and applies fx in the same transaction, as a change to the user
	// userID ("" for none): fx.Void and fx.Secrets are that user's, and
	// fx.Mail the messages that take the request's place. ENotFound if
	// the lease was lost.
	ReplaceMail(ctx context.Context, id, lease, userID string, fx Effects) error
	// ListMail returns up to f.Limit messages that f selects, newest first.
	ListMail(ctx context.Context, f MailFilter) ([]Mail, error)
	// CountMail returns how many messages are in each state.
	CountMail(ctx context.Context) (map[MailState]int, error)
	// PruneMail deletes sent and failed messages created before before,
	// and returns how many.
	PruneMail(ctx context.Context, before time.Time) (int64, error)
}
