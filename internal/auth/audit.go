package auth

import "time"

// AuditEventName names what an audit event records.
type AuditEventName string

// The events of the audit trail.
const (
	AuditLoginSucceeded  AuditEventName = "login.succeeded"
	AuditLoginFailed     AuditEventName = "login.failed"    // Detail is the reason (AuditReason…)
	AuditRefreshed       AuditEventName = "token.refreshed" // Detail is "rotated" or "grace"
	AuditRefreshReused   AuditEventName = "token.reused"    // a used-up refresh token came back: its session is revoked
	AuditLogout          AuditEventName = "session.logout"  // Detail names the scope
	AuditRevoked         AuditEventName = "token.revoked"   // RFC 7009 revocation
	AuditSessionEnded    AuditEventName = "session.ended"   // by an administrator
	AuditSignup          AuditEventName = "user.signed_up"  // self-service signup
	AuditPasswordChanged AuditEventName = "user.password_changed"
	// AuditPasswordCheckFailed: a wrong current password before a
	// sensitive change; Detail is the reason (wrong_password, throttled).
	AuditPasswordCheckFailed AuditEventName = "user.password_check_failed"
	AuditUserCreated         AuditEventName = "user.created"
	AuditUserUpdated         AuditEventName = "user.updated" // Detail lists what changed, never a password
	AuditUserDeleted         AuditEventName = "user.deleted"
	AuditKeyRotated          AuditEventName = "key.rotated"
	// Email (CONTRACT §5). Detail never holds a token.
	AuditVerificationSent AuditEventName = "email.verification_requested" // a verification link was queued
	AuditEmailVerified    AuditEventName = "email.verified"
	AuditEmailChangeAsked AuditEventName = "email.change_requested" // a link to a new address was queued
	AuditEmailChanged     AuditEventName = "email.changed"          // the link was used: the account moved
	AuditResetRequested   AuditEventName = "password.reset_requested"
	AuditResetSent        AuditEventName = "password.reset_link_queued" // a reset request matched an account
	AuditPasswordReset    AuditEventName = "password.reset"
	AuditMailFailed       AuditEventName = "mail.failed" // a message was given up; Detail is the kind and the error
	// Second factors (CONTRACT §6).
	AuditMFAEnrollStarted   AuditEventName = "mfa.enrollment_started"
	AuditMFAEnabled         AuditEventName = "mfa.enabled"
	AuditMFADisabled        AuditEventName = "mfa.disabled"
	AuditMFAReset           AuditEventName = "mfa.reset"  // by an administrator
	AuditMFAFailed          AuditEventName = "mfa.failed" // a wrong code; Detail says where (login, confirm, disable, throttled)
	AuditMFARecoveryUsed    AuditEventName = "mfa.recovery_code_used"
	AuditMFARecoveryRenewed AuditEventName = "mfa.recovery_codes_renewed"
	// Identity providers (CONTRACT §7). Detail names the provider.
	AuditIdentityLinked   AuditEventName = "identity.linked"
	AuditIdentityUnlinked AuditEventName = "identity.unlinked"
	// AuditFederationFailed: a sign-in at a provider came back refused;
	// Detail is the provider and the reason.
	AuditFederationFailed AuditEventName = "identity.sign_in_failed"
)

// AuditEventNames lists every event, in the order above.
var AuditEventNames = []AuditEventName{
	AuditLoginSucceeded, AuditLoginFailed, AuditRefreshed, AuditRefreshReused,
	AuditLogout, AuditRevoked, AuditSessionEnded, AuditSignup, AuditPasswordChanged, AuditPasswordCheckFailed,
	AuditUserCreated, AuditUserUpdated, AuditUserDeleted, AuditKeyRotated,
	AuditVerificationSent, AuditEmailVerified, AuditEmailChangeAsked, AuditEmailChanged,
	AuditResetRequested, AuditResetSent, AuditPasswordReset, AuditMailFailed,
	AuditMFAEnrollStarted, AuditMFAEnabled, AuditMFADisabled, AuditMFAReset, AuditMFAFailed,
	AuditMFARecoveryUsed, AuditMFARecoveryRenewed,
	AuditIdentityLinked, AuditIdentityUnlinked, AuditFederationFailed,
}

// The reasons of a failed login, kept in the audit trail only: the client
// gets the same answer for an unknown user and a wrong password.
const (
	AuditReasonUnknownUser   = "unknown_user"
	AuditReasonWrongPassword = "wrong_password"
	AuditReasonInactive      = "inactive"
	AuditReasonThrottled     = "throttled"
	AuditReasonHashingBusy   = "hashing_busy"
	AuditReasonMalformed     = "malformed" // a username no account can have (over 64 characters)
	AuditReasonError         = "error"
)

// AuditEvent is one entry of the audit trail. It never holds a password or
// a whole token: a session id or a token id (jti) names what was touched.
type AuditEvent struct {
	ID        int64 // increasing; the cursor of AuditFilter.Before
	Time      time.Time
	Event     AuditEventName
	UserID    string // the user the event is about, when known
	Username  string // that user's name, or the name typed at a failed login
	SessionID string
	ActorID   string // the authenticated caller who acted: an administrator, or the user
	Actor     string // the caller's username, or "cli" or "scheduler"
	IP        string
	UserAgent string
	Detail    string // a short reason or description
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	// User matches events whose user id is User, or whose username is
	// User (compared by UsernameKey), so that the events of deleted users
	// and of failed logins with unknown names are found too.
	User  string
	Event AuditEventName
	Since time.Time // events at or after Since; zero: no bound
	Until time.Time // events before Until; zero: no bound
	// Before is a cursor: only events with an id below it; 0 for the
	// newest.
	Before int64
	Limit  int
}
