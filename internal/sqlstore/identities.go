package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/google/uuid"
)

// Identities and sign-ins in flight (migration 0008). An identity is
// found by (provider, subject) only. A flow's state is used up by one
// conditional UPDATE that also matches the browser's binding, so that of
// concurrent callbacks exactly one wins and a callback from another
// browser matches nothing.

var (
	opIdentityBySubject = op{name: "identity by subject", notFound: "Identity not found"}
	opListIdentities    = op{name: "list identities"}
	opCreateFederated   = op{name: "create user with identity", conflict: "Username already exists"}
	opLinkIdentity      = op{name: "link identity", notFound: errNoUser}
	opUnlinkIdentity    = op{name: "unlink identity", notFound: "Identity not found"}
	opIssueOAuthState   = op{name: "issue oauth state", notFound: errNoUser, conflict: "State already exists"}
	opConsumeOAuthState = op{name: "consume oauth state", notFound: "Unknown or used sign-in state"}
)

const identityColumns = `id, user_id, provider, subject, email, created_at`

func scanIdentity(row scanner) (auth.Identity, error) {
	var id auth.Identity
	var created int64
	err := row.Scan(&id.ID, &id.UserID, &id.Provider, &id.Subject, &id.Email, &created)
	id.CreatedAt = fromMS(created)
	return id, err
}

// IdentityBySubject returns the identity of (provider, subject). ENotFound.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (auth.Identity, error) {
	if unstorable(provider, subject) {
		return auth.Identity{}, errNoMatch(opIdentityBySubject)
	}
	id, err := scanIdentity(s.read().QueryRowContext(ctx,
		`SELECT `+identityColumns+` FROM identities WHERE provider = $1 AND subject = $2`, provider, subject))
	return id, s.fail(opIdentityBySubject, err)
}

// ListIdentities returns a user's identities, oldest first.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]auth.Identity, error) {
	if unstorable(userID) {
		return nil, nil
	}
	rows, err := s.read().QueryContext(ctx,
		`SELECT `+identityColumns+` FROM identities WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, s.fail(opListIdentities, err)
	}
	ids, err := collect(rows, scanIdentity)
	return ids, s.fail(opListIdentities, err)
}

// CreateUserWithIdentity creates u and links id to it in one transaction.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *auth.User, id *auth.Identity, fx auth.Effects) error {
	if unstorable(id.Provider, id.Subject, id.Email) {
		return errUnstorable()
	}
	var linked auth.Identity
	err := s.createUser(ctx, opCreateFederated, u, fx, func(tx querier, created auth.User, t time.Time) error {
		linked = *id
		linked.UserID = created.ID
		return s.insertIdentity(ctx, tx, &linked, t)
	})
	if err != nil {
		return err
	}
	*id = linked
	return nil
}

// LinkIdentity stores id for id.UserID with fx.
func (s *Store) LinkIdentity(ctx context.Context, id *auth.Identity, fx auth.Effects) error {
	if unstorable(id.UserID) {
		return errNoMatch(opLinkIdentity)
	}
	if unstorable(id.Provider, id.Subject, id.Email) {
		return errUnstorable()
	}
	linked := *id
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		linked = *id
		if err := s.insertIdentity(ctx, tx, &linked, t); err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, id.UserID, t)
	})
	if err != nil {
		return s.fail(opLinkIdentity, err)
	}
	*id = linked
	return nil
}

// insertIdentity inserts id, filling in its ID and CreatedAt. A taken
// (provider, subject) is auth.ErrIdentityTaken.
func (s *Store) insertIdentity(ctx context.Context, tx querier, id *auth.Identity, t time.Time) error {
	if id.ID == "" {
		v7, err := uuid.NewV7()
		if err != nil {
			return err
		}
		id.ID = v7.String()
	}
	id.CreatedAt = t
	_, err := tx.ExecContext(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		id.ID, id.UserID, id.Provider, id.Subject, id.Email, ms(t))
	if s.classify(err) == kindConflict {
		return fmt.Errorf("sqlstore: %w (%w)", auth.ErrIdentityTaken, err)
	}
	return err
}

// UnlinkIdentity removes the user's identity id unless it is the user's
// last way of signing in. The user's row is locked first (a no-op update),
// so that two unlinks of one user's last two identities are serialised
// and the second sees that only one is left.
func (s *Store) UnlinkIdentity(ctx context.Context, userID, id string, fx auth.Effects) (auth.Identity, error) {
	if unstorable(userID, id) {
		return auth.Identity{}, errNoMatch(opUnlinkIdentity)
	}
	var gone auth.Identity
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		var hash string
		err := tx.QueryRowContext(ctx, `UPDATE users SET updated_at = updated_at WHERE id = $1 RETURNING password_hash`, userID).Scan(&hash)
		if err != nil {
			return applied{}, err
		}
		gone, err = scanIdentity(tx.QueryRowContext(ctx,
			`SELECT `+identityColumns+` FROM identities WHERE id = $1 AND user_id = $2`, id, userID))
		if err != nil {
			return applied{}, err
		}
		if hash == "" {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identities WHERE user_id = $1 AND id <> $2`, userID, id).Scan(&others); err != nil {
				return applied{}, err
			}
			if others == 0 {
				return applied{}, auth.ErrLastLoginMethod
			}
		}
		if err := execOne(ctx, tx, `DELETE FROM identities WHERE id = $1`, id); err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, userID, now())
	})
	return gone, s.fail(opUnlinkIdentity, err)
}

const oauthStateColumns = `hash, binding_hash, provider, redirect_uri, client_state, code_challenge, cookie_mode, link_user_id, created_at, expires_at`

// IssueOAuthState stores a flow in flight. ENotFound if the linking user
// does not exist.
func (s *Store) IssueOAuthState(ctx context.Context, st auth.OAuthState) error {
	if unstorable(st.Hash, st.BindingHash, st.Provider, st.RedirectURI, st.ClientState, st.CodeChallenge, st.LinkUserID) {
		return errUnstorable()
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now()
	}
	var link any
	if st.LinkUserID != "" {
		link = st.LinkUserID
	}
	_, err := s.write().ExecContext(ctx, `INSERT INTO oauth_states (`+oauthStateColumns+`, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)`,
		st.Hash, st.BindingHash, st.Provider, st.RedirectURI, st.ClientState, st.CodeChallenge, st.CookieMode, link,
		ms(st.CreatedAt), ms(st.ExpiresAt))
	return s.fail(opIssueOAuthState, err)
}

// ConsumeOAuthState uses up a usable state bound to bindingHash.
func (s *Store) ConsumeOAuthState(ctx context.Context, hash, bindingHash string, at time.Time) (auth.OAuthState, error) {
	if unstorable(hash, bindingHash) {
		return auth.OAuthState{}, errNoMatch(opConsumeOAuthState)
	}
	var st auth.OAuthState
	var link sql.NullString
	var created, expires int64
	err := s.write().QueryRowContext(ctx, `UPDATE oauth_states SET used_at = $3
		WHERE hash = $1 AND binding_hash = $2 AND used_at IS NULL AND expires_at > $3
		RETURNING `+oauthStateColumns, hash, bindingHash, ms(at)).Scan(
		&st.Hash, &st.BindingHash, &st.Provider, &st.RedirectURI, &st.ClientState, &st.CodeChallenge, &st.CookieMode, &link,
		&created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.OAuthState{}, errNoMatch(opConsumeOAuthState)
	}
	st.LinkUserID, st.CreatedAt, st.ExpiresAt = link.String, fromMS(created), fromMS(expires)
	return st, s.fail(opConsumeOAuthState, err)
}
