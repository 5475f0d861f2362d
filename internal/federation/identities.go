package federation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// resolve finds or makes the account of a provider sign-in. A refusal is
// a code of the contract (account_exists, signup_closed) with no error.
func (s *Service) resolve(ctx context.Context, p *provider, who signedIn, o auth.Origin) (auth.User, string, error) {
	id, err := s.c.Store.IdentityBySubject(ctx, p.cfg.ID, who.Subject)
	if err == nil {
		u, err := s.c.Store.UserByID(ctx, id.UserID)
		return u, "", err
	}
	if auth.ErrorCode(err) != auth.ENotFound {
		return auth.User{}, "", err
	}
	addr := who.Email
	if addr != "" {
		if norm, err := auth.ValidateEmail(addr); err == nil {
			addr = norm
		} else {
			addr = "" // an address Gatehouse cannot keep is left out, not fatal
		}
	}
	if addr != "" {
		existing, err := s.c.Store.UserByEmail(ctx, addr)
		switch {
		case err == nil:
			if p.cfg.Link == LinkVerifiedEmail && who.EmailVerified && existing.EmailVerified {
				return s.linkExisting(ctx, p, who, existing, o)
			}
			return auth.User{}, codeAccountExists, nil
		case auth.ErrorCode(err) != auth.ENotFound:
			return auth.User{}, "", err
		}
	}
	if !s.c.SignupOpen {
		return auth.User{}, codeSignupClosed, nil
	}
	return s.create(ctx, p, who, addr, o)
}

// linkExisting links a first sign-in to the account with the same
// verified address (provider configured with link: verified_email).
func (s *Service) linkExisting(ctx context.Context, p *provider, who signedIn, u auth.User, o auth.Origin) (auth.User, string, error) {
	id := auth.Identity{UserID: u.ID, Provider: p.cfg.ID, Subject: who.Subject, Email: who.Email}
	err := s.c.Store.LinkIdentity(ctx, &id, s.c.Audit.Effects(ctx, o,
		auth.AuditEvent{Event: auth.AuditIdentityLinked, UserID: u.ID, Username: u.Username, Detail: "provider=" + p.cfg.ID + " by=verified_email"}))
	if errors.Is(err, auth.ErrIdentityTaken) { // the same first sign-in, twice at once
		return s.resolveTaken(ctx, p, who)
	}
	return u, "", err
}

// maxUsernameTries bounds the names tried for a new account.
const maxUsernameTries = 8

// create makes the account of a first sign-in: no password, the address
// verified only when the provider said email_verified true.
func (s *Service) create(ctx context.Context, p *provider, who signedIn, addr string, o auth.Origin) (auth.User, string, error) {
	base := usernameBase(who)
	for try := 0; try < maxUsernameTries; try++ {
		u := auth.User{
			Username: candidate(base, try), Role: auth.RoleUser, Active: true,
			Email: addr, EmailVerified: addr != "" && who.EmailVerified,
		}
		if auth.ValidateUsername(u.Username) != nil {
			continue
		}
		id := auth.Identity{Provider: p.cfg.ID, Subject: who.Subject, Email: who.Email}
		detail := "provider=" + p.cfg.ID
		err := s.c.Store.CreateUserWithIdentity(ctx, &u, &id, s.c.Audit.Effects(ctx, o,
			auth.AuditEvent{Event: auth.AuditSignup, Detail: detail},
			auth.AuditEvent{Event: auth.AuditIdentityLinked, Detail: detail}))
		switch {
		case err == nil:
			return u, "", nil
		case errors.Is(err, auth.ErrIdentityTaken):
			return s.resolveTaken(ctx, p, who)
		case errors.Is(err, auth.ErrEmailTaken):
			return auth.User{}, codeAccountExists, nil
		case auth.ErrorCode(err) == auth.EConflict:
			continue // the name (or one that looks like it) is taken
		default:
			return auth.User{}, "", err
		}
	}
	return auth.User{}, "", fmt.Errorf("federation: no free username for %q after %d tries", base, maxUsernameTries)
}

// resolveTaken finds the account that a concurrent first sign-in of the
// same subject made.
func (s *Service) resolveTaken(ctx context.Context, p *provider, who signedIn) (auth.User, string, error) {
	id, err := s.c.Store.IdentityBySubject(ctx, p.cfg.ID, who.Subject)
	if err != nil {
		return auth.User{}, "", err
	}
	u, err := s.c.Store.UserByID(ctx, id.UserID)
	return u, "", err
}

// usernameBase is the name a new account starts from: the provider's
// preferred_username, or the address, or the name, kept to the
// characters a username may have.
func usernameBase(who signedIn) string {
	for _, v := range []string{who.PreferredUsername, who.Email, who.Name} {
		if b := sanitizeUsername(v); b != "" {
			return b
		}
	}
	return "user"
}

func sanitizeUsername(v string) string {
	v = auth.NormalizeUsername(v)
	var b strings.Builder
	for _, r := range v {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r):
			b.WriteRune(r)
		case r == ' ' || r == '+':
			b.WriteByte('.')
		}
	}
	out := strings.Trim(b.String(), ".")
	for utf8.RuneCountInString(out) > auth.MaxUsernameLen-7 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	if auth.ValidateUsername(out) != nil {
		return ""
	}
	return out
}

// candidate is the try-th name for base: base, base-2, base-3, then
// base with a random suffix.
func candidate(base string, try int) string {
	switch {
	case try == 0:
		return base
	case try < 4:
		return fmt.Sprintf("%s-%d", base, try+1)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return base + "-" + hex.EncodeToString(b[:])
}

// link finishes a linking flow: the provider's identity joins the
// account that started it, unless another account has it.
func (s *Service) link(ctx context.Context, p *provider, st auth.OAuthState, who signedIn, o auth.Origin, fail func(code, why string, cause error) (Landed, error)) (Landed, error) {
	done := Landed{RedirectTo: withQuery(st.RedirectURI, "linked", p.cfg.ID, "state", st.ClientState)}
	existing, err := s.c.Store.IdentityBySubject(ctx, p.cfg.ID, who.Subject)
	switch {
	case err == nil && existing.UserID == st.LinkUserID:
		return done, nil // linked already
	case err == nil:
		return fail(codeIdentityTaken, codeIdentityTaken, nil)
	case auth.ErrorCode(err) != auth.ENotFound:
		return fail(codeServerError, "store", err)
	}
	id := auth.Identity{UserID: st.LinkUserID, Provider: p.cfg.ID, Subject: who.Subject, Email: who.Email}
	err = s.c.Store.LinkIdentity(ctx, &id, s.c.Audit.Effects(ctx, o,
		auth.AuditEvent{Event: auth.AuditIdentityLinked, Detail: "provider=" + p.cfg.ID}))
	switch {
	case errors.Is(err, auth.ErrIdentityTaken):
		return fail(codeIdentityTaken, codeIdentityTaken, nil)
	case err != nil:
		return fail(codeServerError, "store", err)
	}
	return done, nil
}

// Identities lists a user's identities.
func (s *Service) Identities(ctx context.Context, userID string) ([]auth.Identity, error) {
	return s.c.Store.ListIdentities(ctx, userID)
}

// Unlink removes one of the caller's identities. ENotFound;
// auth.ErrLastLoginMethod.
func (s *Service) Unlink(ctx context.Context, p auth.Principal, id string, o auth.Origin) error {
	if id == "" || len(id) > 64 {
		return auth.Errorf(auth.ENotFound, "Identity not found")
	}
	ids, err := s.c.Store.ListIdentities(ctx, p.UserID)
	if err != nil {
		return err
	}
	provider := ""
	for _, x := range ids {
		if x.ID == id {
			provider = x.Provider
		}
	}
	if provider == "" {
		return auth.Errorf(auth.ENotFound, "Identity not found")
	}
	_, err = s.c.Store.UnlinkIdentity(ctx, p.UserID, id, s.c.Audit.Effects(ctx, o,
		auth.AuditEvent{Event: auth.AuditIdentityUnlinked, SessionID: p.SessionID, Detail: "provider=" + provider}))
	return err
}
