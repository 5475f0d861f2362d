package accounts

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Mailer composes the messages that accounts send (mail.Composer).
type Mailer interface {
	// Link returns the URL of a page ("verify-email", "reset-password")
	// with the token in its fragment.
	Link(page, token string) string
	Compose(template string, kind auth.MailKind, to, userID string, d mail.Data) (auth.Mail, error)
}

// The default lifetimes of link tokens (CONTRACT §5).
const (
	DefaultResetTTL  = 30 * time.Minute
	DefaultVerifyTTL = 24 * time.Hour
)

// The default per-address send limits (CONTRACT §5): at most one message
// of a kind a minute and five an hour. A message past them is dropped
// without a word to the client, who is told the same either way.
const (
	DefaultSendsPerMinute = 1
	DefaultSendsPerHour   = 5
)

// The answers of the email flows.
var (
	ErrInvalidToken     = auth.Reasonf(auth.EBadRequest, "invalid_token", "Invalid or expired token")
	errNoEmail          = auth.Reasonf(auth.EInvalid, "no_email", "The account has no email address")
	errAlreadyVerified  = auth.Reasonf(auth.EConflict, "email_already_verified", "The email address is already verified")
	errSameEmail        = auth.Reasonf(auth.EConflict, "email_taken", "That is already the account's address")
	errMailNotAvailable = auth.Errorf(auth.EUnavailable, "Mail is not configured")
)

// sendAllowed takes one send of kind to addr from the per-address limits
// and reports whether it may go.
func (s *Service) sendAllowed(ctx context.Context, kind auth.MailKind, addr string) bool {
	id := string(kind) + "\x00" + auth.EmailKey(addr)
	return ratelimit.Allow(ctx, s.sends, s.sendsMinute.Key(id), s.sendsHour.Key(id)) == 0
}

// linkMail issues a link token of purpose for u and composes the message
// that carries it to addr, as effects of the change that causes it: the
// token is stored (voiding the older ones of its purpose) and the message
// queued only if the change commits.
func (s *Service) linkMail(u auth.User, addr string, purpose auth.SecretPurpose, kind auth.MailKind, tmpl, page string, ttl time.Duration) (auth.Effects, error) {
	tok := token.NewSecret()
	now := s.now()
	m, err := s.mailer.Compose(tmpl, kind, addr, u.ID, mail.Data{
		Username: u.Username, Email: addr, Link: s.mailer.Link(page, tok), Expires: ttl,
	})
	if err != nil {
		return auth.Effects{}, err
	}
	return auth.Effects{
		Void: []auth.SecretPurpose{purpose},
		Secrets: []auth.OneTimeSecret{{
			Hash: token.HashSecret(tok), Purpose: purpose, OwnerID: u.ID, Data: addr,
			CreatedAt: now, ExpiresAt: now.Add(ttl), AttemptsLeft: 1,
		}},
		Mail: []auth.Mail{m},
	}, nil
}

// notice composes a notice (no link) to u's verified address, or nothing
// when u has none or the address is past its limits.
func (s *Service) notice(ctx context.Context, u auth.User, tmpl string, d mail.Data, o auth.Origin) []auth.Mail {
	if s.mailer == nil || u.Email == "" || !u.EmailVerified || !s.sendAllowed(ctx, auth.MailNotice, u.Email) {
		return nil
	}
	d.Username, d.Email, d.When, d.IP = u.Username, u.Email, s.now(), o.IP
	m, err := s.mailer.Compose(tmpl, auth.MailNotice, u.Email, u.ID, d)
	if err != nil {
		s.log.ErrorContext(ctx, "composing a notice", "template", tmpl, "err", err)
		return nil
	}
	return []auth.Mail{m}
}

// verification returns the effects that send u a link to verify addr,
// unless addr is past its limits or no mail can be composed.
func (s *Service) verification(ctx context.Context, u auth.User, addr string) (auth.Effects, error) {
	if s.mailer == nil || !s.sendAllowed(ctx, auth.MailVerification, addr) {
		return auth.Effects{}, nil
	}
	fx, err := s.linkMail(u, addr, auth.PurposeVerifyEmail, auth.MailVerification, mail.TemplateVerification, mail.PathVerifyEmail, s.verifyTTL)
	if err != nil {
		return auth.Effects{}, err
	}
	fx.Audit = []auth.AuditEvent{{Event: auth.AuditVerificationSent}}
	return fx, nil
}

// queued tells the local sender that a message is waiting.
func (s *Service) queued(fx auth.Effects) {
	if len(fx.Mail) > 0 && s.wake != nil {
		s.wake()
	}
}

// RequestVerification sends the caller a link to verify their address.
// 422 no_email, 409 email_already_verified. Past the address's limits,
// nothing is sent and the answer is the same.
func (s *Service) RequestVerification(ctx context.Context, p auth.Principal, o auth.Origin) error {
	if s.mailer == nil {
		return errMailNotAvailable
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	switch {
	case u.Email == "":
		return errNoEmail
	case u.EmailVerified:
		return errAlreadyVerified
	}
	fx, err := s.verification(ctx, u, u.Email)
	if err != nil || len(fx.Mail) == 0 {
		return err
	}
	fx = s.withAudit(ctx, o, fx)
	addr := u.Email
	// EmailWas: the link goes to the address the account has now, or nowhere.
	_, err = s.applyFx(ctx, u.ID, auth.UserUpdate{EmailWas: &addr}, auth.EndSessions{}, fx)
	return err
}

// withAudit stamps fx's audit events with o (audit.Recorder.Effects) and
// keeps the rest of fx.
func (s *Service) withAudit(ctx context.Context, o auth.Origin, fx auth.Effects) auth.Effects {
	stamped := s.audit.Effects(ctx, o, fx.Audit...)
	fx.Audit, fx.AuditFailed = stamped.Audit, stamped.AuditFailed
	return fx
}

// VerifyEmail uses a link token from a verification or an address
// change: the account's address (the new one, for a change, which the
// account moves to first) counts as verified. 400 invalid_token for a
// token that is unknown, used, expired or voided, or whose address the
// account no longer has; 409 email_taken when another account took the
// new address meanwhile.
func (s *Service) VerifyEmail(ctx context.Context, tok string, o auth.Origin) (auth.User, error) {
	if !token.LooksLikeSecret(tok) {
		return auth.User{}, ErrInvalidToken
	}
	hash := token.HashSecret(tok)
	if sec, err := s.store.ConsumeSecret(ctx, auth.PurposeVerifyEmail, hash, s.now()); err == nil {
		verified := true
		// ENotFound: the account is gone, or has moved to another address.
		u, err := s.applyFx(ctx, sec.OwnerID, auth.UserUpdate{EmailVerified: &verified, EmailWas: &sec.Data},
			auth.EndSessions{}, s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditEmailVerified}))
		return u, tokenErr(err)
	} else if auth.ErrorCode(err) != auth.ENotFound {
		return auth.User{}, err
	}
	return s.completeChange(ctx, hash, o)
}

// completeChange moves an account to the address that a change link was
// sent to, which the link proves: it counts as verified. The user's
// outstanding reset links (sent to the old address) are voided.
func (s *Service) completeChange(ctx context.Context, hash string, o auth.Origin) (auth.User, error) {
	sec, err := s.store.LookupSecret(ctx, auth.PurposeChangeEmail, hash, s.now())
	if err != nil {
		return auth.User{}, tokenErr(err)
	}
	// A taken address is refused before the token is used up, so that the
	// owner can use it once the other account lets the address go.
	if other, err := s.store.UserByEmail(ctx, sec.Data); err == nil && other.ID != sec.OwnerID {
		return auth.User{}, auth.ErrEmailTaken
	}
	if _, err := s.store.ConsumeSecret(ctx, auth.PurposeChangeEmail, hash, s.now()); err != nil {
		return auth.User{}, tokenErr(err)
	}
	verified := true
	fx := s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditEmailChanged})
	fx.Void = []auth.SecretPurpose{auth.PurposeResetPassword, auth.PurposeVerifyEmail}
	u, err := s.applyFx(ctx, sec.OwnerID, auth.UserUpdate{Email: &sec.Data, EmailVerified: &verified}, auth.EndSessions{}, fx)
	return u, tokenErr(err)
}

// ChangeEmail starts moving the caller's account to a new address, after
// checking their password: a link goes to the new address, and a notice
// (without a link) to the old one if it is verified. The address changes
// only when the link is used. The user's outstanding reset links are
// voided. 401 wrong password (throttled like a login); 409 email_taken;
// 422 a malformed address.
func (s *Service) ChangeEmail(ctx context.Context, p auth.Principal, addr, current string, o auth.Origin) error {
	if s.mailer == nil {
		return errMailNotAvailable
	}
	addr, err := auth.ValidateEmail(addr)
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, current, o); err != nil {
		return err
	}
	if u.Email != "" && auth.EmailKey(u.Email) == auth.EmailKey(addr) {
		return errSameEmail
	}
	if _, err := s.store.UserByEmail(ctx, addr); err == nil {
		return auth.ErrEmailTaken
	} else if auth.ErrorCode(err) != auth.ENotFound {
		return err
	}
	fx := auth.Effects{Void: []auth.SecretPurpose{auth.PurposeChangeEmail}}
	if s.sendAllowed(ctx, auth.MailAddressChange, addr) {
		fx, err = s.linkMail(u, addr, auth.PurposeChangeEmail, auth.MailAddressChange, mail.TemplateAddressChange, mail.PathVerifyEmail, s.verifyTTL)
		if err != nil {
			return err
		}
	}
	fx.Void = append(fx.Void, auth.PurposeResetPassword)
	fx.Mail = append(fx.Mail, s.notice(ctx, u, mail.TemplateEmailChanged, mail.Data{NewEmail: addr}, o)...)
	fx.Audit = []auth.AuditEvent{{Event: auth.AuditEmailChangeAsked, SessionID: p.SessionID}}
	fx = s.withAudit(ctx, o, fx)
	_, err = s.applyFx(ctx, u.ID, auth.UserUpdate{}, auth.EndSessions{}, fx)
	return err
}

// ForgotPassword asks for a reset link to addr. It does the same work
// whether or not an account uses the address: it queues a reset request
// (auth.MailResetRequest) in the outbox, which the background sender
// resolves (ResolveResetRequest); no account is looked up here. EInvalid
// for a malformed address.
func (s *Service) ForgotPassword(ctx context.Context, addr string, o auth.Origin) error {
	if s.mailer == nil {
		return errMailNotAvailable
	}
	addr, err := auth.ValidateEmail(addr)
	if err != nil {
		return err
	}
	if wait := ratelimit.Allow(ctx, s.sends, s.forgotAddr.Key(clientaddr.Network(o.IP))); wait > 0 {
		return &auth.Error{Code: auth.ETooMany, Message: "Too many reset requests; try again later", RetryAfter: wait}
	}
	req := auth.Mail{Kind: auth.MailResetRequest, To: addr, MessageID: "reset-request." + token.NewSecret()}
	fx := s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditResetRequested})
	// The sender is not woken: it finds the request at its next poll, so
	// that the work a request for an account's address causes in the
	// background does not follow each request, where its timing could
	// be told apart.
	return s.store.EnqueueMail(ctx, req, fx)
}

// ResolveResetRequest decides, in the background, what a reset request
// becomes: for an address that an active account uses and that is within
// its limits, a reset link (the user's older ones voided) and its audit
// event; otherwise nothing (a disabled account gets no link: it could
// not log in with the new password). It implements outbox.Resolver.
func (s *Service) ResolveResetRequest(ctx context.Context, req auth.Mail) (string, auth.Effects, error) {
	u, err := s.store.UserByEmail(ctx, req.To)
	if auth.ErrorCode(err) == auth.ENotFound {
		return "", auth.Effects{}, nil
	}
	if err != nil {
		return "", auth.Effects{}, err
	}
	if s.mailer == nil || !u.Active || !s.sendAllowed(ctx, auth.MailReset, u.Email) {
		return "", auth.Effects{}, nil
	}
	fx, err := s.linkMail(u, u.Email, auth.PurposeResetPassword, auth.MailReset, mail.TemplateReset, mail.PathResetPassword, s.resetTTL)
	if err != nil {
		return "", auth.Effects{}, err
	}
	fx = s.withAudit(ctx, auth.Origin{Actor: "outbox"}, fx)
	fx.Audit = append(fx.Audit, auth.AuditEvent{Event: auth.AuditResetSent, UserID: u.ID, Username: u.Username, Actor: "outbox"})
	return u.ID, fx, nil
}

// ResetPassword sets a new password with a reset link's token: every
// session of the user ends, the address the link went to counts as
// verified, and the user's other reset links are voided. It is not a
// login. 400 invalid_token; 422 the password policy (which leaves the
// token usable).
func (s *Service) ResetPassword(ctx context.Context, tok, next string, o auth.Origin) error {
	if !token.LooksLikeSecret(tok) {
		return ErrInvalidToken
	}
	if err := s.policy(next); err != nil {
		return auth.Wrap(auth.EInvalid, err, err.Error())
	}
	hash := token.HashSecret(tok)
	sec, err := s.store.LookupSecret(ctx, auth.PurposeResetPassword, hash, s.now())
	if err != nil {
		return tokenErr(err)
	}
	h, err := s.passwords.Hash(ctx, next)
	if err != nil {
		return err
	}
	// Of concurrent uses of one token, exactly one consumes it.
	if _, err := s.store.ConsumeSecret(ctx, auth.PurposeResetPassword, hash, s.now()); err != nil {
		return tokenErr(err)
	}
	u, err := s.store.UserByID(ctx, sec.OwnerID)
	if err != nil {
		return tokenErr(err)
	}
	verified := true
	u.EmailVerified = auth.EmailKey(u.Email) == auth.EmailKey(sec.Data)
	fx := s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditPasswordReset})
	fx.Void = []auth.SecretPurpose{auth.PurposeResetPassword, auth.PurposeLoginAttempt}
	fx.Mail = s.notice(ctx, u, mail.TemplatePasswordChanged, mail.Data{}, o)
	upd := auth.UserUpdate{PasswordHash: &h, EmailVerified: &verified, EmailWas: &sec.Data}
	// ENotFound: the account moved to another address since the link was sent.
	_, err = s.applyFx(ctx, sec.OwnerID, upd, auth.EndSessions{All: true}, fx)
	return tokenErr(err)
}

// tokenErr is what a link token's flow answers for err: 400 invalid_token
// when the token, its account or the account's address is not found (used,
// voided, expired, gone), err otherwise.
func tokenErr(err error) error {
	if auth.ErrorCode(err) == auth.ENotFound {
		return ErrInvalidToken
	}
	return err
}

// NoticeMFA tells u's verified address that a second factor was turned on
// or off; the effects go with the change that does it.
func (s *Service) NoticeMFA(ctx context.Context, u auth.User, on bool, o auth.Origin) []auth.Mail {
	tmpl := mail.TemplateMFADisabled
	if on {
		tmpl = mail.TemplateMFAEnabled
	}
	return s.notice(ctx, u, tmpl, mail.Data{}, o)
}
