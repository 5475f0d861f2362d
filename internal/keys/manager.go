// Package keys manages the keys that sign access tokens: it generates them
// on first start, keeps them in the database, rotates them without logging
// anyone out (a new key is published before it signs, a retired one stays
// published until its tokens have expired), and serves the JWKS.
package keys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
)

// Options configure a Manager.
type Options struct {
	Algorithm    string        // ES256, EdDSA, RS256 or HS256
	Secret       []byte        // the HS256 secret; only with HS256
	Store        auth.KeyStore // where asymmetric keys live; unused with HS256
	AccessTTL    time.Duration // lifetime of the tokens a key signs
	PublishDelay time.Duration // how long a new key is published before it signs
	RotateEvery  time.Duration // rotate automatically when the newest key is this old; 0 never
	Now          func() time.Time
	Log          *slog.Logger
	Audit        *audit.Recorder // records rotations; nil records nothing
	// Sealer encrypts the private keys stored from now on, with the kid as
	// associated data, and opens sealed ones; nil stores them unsealed
	// (and refuses to load sealed ones).
	Sealer *seal.Sealer
	// Announcer tells the other replicas at once that the keys changed
	// (Redis); nil leaves it to the database's notification and the poll.
	Announcer Announcer
}

// Announcer tells other processes that the signing keys changed.
type Announcer interface {
	PublishKeyChange(ctx context.Context, kid string) error
}

// Manager holds the loaded keys. It is safe for concurrent use: the
// request path reads an immutable snapshot through an atomic pointer.
type Manager struct {
	opt  Options
	snap atomic.Pointer[snapshot]
	// reload serializes Reload, so that an older read never replaces the
	// snapshot of a newer one.
	reload sync.Mutex
	// changed wakes Run when another process changed the keys.
	changed chan struct{}
}

type loadedKey struct {
	auth.SigningKey
	signer *token.Signer
	public verify.Key
	jwk    JWK
}

type snapshot struct {
	keys []loadedKey // ordered by ActivatesAt
	byID map[string]verify.Key
	jwks []byte
	etag string
}

// New returns a Manager; call Init before use.
func New(opt Options) *Manager {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Manager{opt: opt, changed: make(chan struct{}, 1)}
}

// Symmetric reports whether tokens are signed with a shared secret.
func (m *Manager) Symmetric() bool { return m.opt.Algorithm == "HS256" }

// Init loads the keys, generating the first one if the database has no key
// for the configured algorithm.
func (m *Manager) Init(ctx context.Context) error {
	if m.Symmetric() {
		return m.initSecret()
	}
	if err := m.Reload(ctx); err != nil {
		return err
	}
	m.warnUnsealed()
	if m.hasLiveKey() {
		return nil
	}
	return m.createFirstKey(ctx)
}

func (m *Manager) initSecret() error {
	s, err := token.NewSigner("HS256", "", m.opt.Secret)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	k := loadedKey{SigningKey: auth.SigningKey{Algorithm: "HS256"}, signer: s, public: verify.Key{Algorithm: "HS256", Key: m.opt.Secret}}
	m.snap.Store(&snapshot{keys: []loadedKey{k}, byID: map[string]verify.Key{"": k.public}, jwks: []byte(`{"keys":[]}`), etag: `"empty"`})
	return nil
}

// hasLiveKey reports whether a key of the configured algorithm will keep
// signing (it has no expiry).
func (m *Manager) hasLiveKey() bool {
	for _, k := range m.snap.Load().keys {
		if k.Algorithm == m.opt.Algorithm && k.ExpiresAt.IsZero() {
			return true
		}
	}
	return false
}

func (m *Manager) createFirstKey(ctx context.Context) error {
	now := m.opt.Now()
	k, err := m.generate(now, now)
	if err != nil {
		return err
	}
	if len(m.snap.Load().keys) > 0 {
		// The algorithm changed: the old keys retire like in a rotation.
		err = m.opt.Store.RotateSigningKey(ctx, k, now.Add(m.retireAfter()))
	} else {
		_, err = m.opt.Store.InitSigningKey(ctx, k)
	}
	if err != nil {
		return fmt.Errorf("keys: store first %s key: %w", m.opt.Algorithm, err)
	}
	m.opt.Log.Info("generated signing key", "kid", k.ID, "alg", k.Algorithm, "sealed", m.opt.Sealer != nil)
	m.announce(ctx, k.ID)
	return m.Reload(ctx)
}

// retireAfter is how long a replaced key stays published after it stops
// signing: the life of its last token plus the verifiers' leeway.
func (m *Manager) retireAfter() time.Duration { return m.opt.AccessTTL + verify.MaxLeeway }

// Reload reads the keys from the store and swaps the snapshot.
func (m *Manager) Reload(ctx context.Context) error {
	if m.Symmetric() {
		return nil
	}
	m.reload.Lock()
	defer m.reload.Unlock()
	stored, err := m.opt.Store.SigningKeys(ctx, m.opt.Now())
	if err != nil {
		return fmt.Errorf("keys: load: %w", err)
	}
	snap, err := m.buildSnapshot(stored)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	m.snap.Store(snap)
	return nil
}

// buildSnapshot loads stored, reusing the keys of the current snapshot
// whose stored bytes are unchanged (a reload every second parses and
// opens nothing new).
func (m *Manager) buildSnapshot(stored []auth.SigningKey) (*snapshot, error) {
	loaded := map[string]loadedKey{}
	if old := m.snap.Load(); old != nil {
		for _, k := range old.keys {
			loaded[k.ID] = k
		}
	}
	sort.SliceStable(stored, func(i, j int) bool { return stored[i].ActivatesAt.Before(stored[j].ActivatesAt) })
	s := &snapshot{byID: make(map[string]verify.Key, len(stored))}
	set := struct {
		Keys []JWK `json:"keys"`
	}{Keys: []JWK{}}
	for _, sk := range stored {
		lk, jwk, err := m.load(sk, loaded[sk.ID])
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, lk)
		s.byID[sk.ID] = lk.public
		set.Keys = append(set.Keys, jwk)
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	s.jwks, s.etag = body, `"`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`
	return s, nil
}

// load opens and parses sk, or takes prev when it is the same stored key.
func (m *Manager) load(sk auth.SigningKey, prev loadedKey) (loadedKey, JWK, error) {
	if prev.signer != nil && prev.Algorithm == sk.Algorithm && bytes.Equal(prev.PrivateKey, sk.PrivateKey) {
		prev.SigningKey = sk // the expiry may have changed
		return prev, prev.jwk, nil
	}
	der, err := m.open(sk)
	if err != nil {
		return loadedKey{}, JWK{}, err
	}
	plain := sk
	plain.PrivateKey = der
	priv, err := parsePrivate(plain)
	if err != nil {
		return loadedKey{}, JWK{}, err
	}
	signer, err := token.NewSigner(sk.Algorithm, sk.ID, priv)
	if err != nil {
		return loadedKey{}, JWK{}, err
	}
	jwk, err := publicJWK(priv.Public())
	if err != nil {
		return loadedKey{}, JWK{}, err
	}
	jwk.Kid, jwk.Alg, jwk.Use = sk.ID, sk.Algorithm, "sig"
	pub := verify.Key{ID: sk.ID, Algorithm: sk.Algorithm, Key: priv.Public()}
	return loadedKey{SigningKey: sk, signer: signer, public: pub, jwk: jwk}, jwk, nil
}

// ErrNoSigningKey means no key may sign yet (none has activated).
var ErrNoSigningKey = errors.New("keys: no active signing key")

// Signer returns the signer of the current key: the most recently activated
// key of the configured algorithm.
func (m *Manager) Signer() (*token.Signer, error) {
	snap := m.snap.Load()
	if snap == nil {
		return nil, ErrNoSigningKey
	}
	if m.Symmetric() {
		return snap.keys[0].signer, nil
	}
	now := m.opt.Now()
	for i := len(snap.keys) - 1; i >= 0; i-- {
		k := snap.keys[i]
		if k.Algorithm == m.opt.Algorithm && !k.ActivatesAt.After(now) {
			return k.signer, nil
		}
	}
	return nil, ErrNoSigningKey
}

// LookupKey implements verify.KeySet over the published keys.
func (m *Manager) LookupKey(_ context.Context, kid string) (verify.Key, error) {
	if snap := m.snap.Load(); snap != nil {
		if k, ok := snap.byID[kid]; ok {
			return k, nil
		}
	}
	return verify.Key{}, fmt.Errorf("kid %q: %w", kid, verify.ErrUnknownKey)
}

// Algorithms lists the algorithms of the published keys, the configured one
// first: the only algorithms a token may use.
func (m *Manager) Algorithms() []string {
	algs := []string{m.opt.Algorithm}
	if snap := m.snap.Load(); snap != nil {
		for _, k := range snap.keys {
			if !slices.Contains(algs, k.Algorithm) {
				algs = append(algs, k.Algorithm)
			}
		}
	}
	return algs
}

// JWKS returns the JSON key set and its entity tag.
func (m *Manager) JWKS() (body []byte, etag string) {
	snap := m.snap.Load()
	return snap.jwks, snap.etag
}

// CacheMaxAge is how long verifiers may cache the JWKS: never longer than
// the publish delay, so no cache misses a key before it signs.
func (m *Manager) CacheMaxAge() time.Duration {
	return min(m.opt.PublishDelay, 5*time.Minute)
}

// Rotate generates a key that signs from now+PublishDelay; the keys before
// it stop signing then and stay published for one token lifetime more. o
// is who asked, for the audit trail.
func (m *Manager) Rotate(ctx context.Context, o auth.Origin) (auth.SigningKey, error) {
	if m.Symmetric() {
		return auth.SigningKey{}, auth.Errorf(auth.EInvalid, "HS256 uses the JWT_SECRET_KEY secret: rotate it by changing the variable")
	}
	now := m.opt.Now()
	activates := now.Add(m.opt.PublishDelay)
	k, err := m.generate(now, activates)
	if err != nil {
		return auth.SigningKey{}, err
	}
	if err := m.opt.Store.RotateSigningKey(ctx, k, activates.Add(m.retireAfter())); err != nil {
		return auth.SigningKey{}, fmt.Errorf("keys: rotate: %w", err)
	}
	m.announce(ctx, k.ID)
	m.opt.Log.Info("rotated signing key", "kid", k.ID, "alg", k.Algorithm, "signs_from", activates, "sealed", m.opt.Sealer != nil)
	m.opt.Audit.Record(ctx, o, auth.AuditEvent{
		Event:  auth.AuditKeyRotated,
		Detail: fmt.Sprintf("kid=%s alg=%s signs_from=%s", k.ID, k.Algorithm, activates.UTC().Format(time.RFC3339)),
	})
	return k, m.Reload(ctx)
}

// Info describes a key for listing.
type Info struct {
	auth.SigningKey
	State auth.KeyState
}

// List returns the published keys and their states at now.
func (m *Manager) List() []Info {
	snap := m.snap.Load()
	if snap == nil || m.Symmetric() {
		return nil
	}
	now := m.opt.Now()
	current := ""
	if s, err := m.Signer(); err == nil {
		current = s.KeyID()
	}
	out := make([]Info, 0, len(snap.keys))
	for _, k := range snap.keys {
		out = append(out, Info{SigningKey: k.SigningKey, State: state(k.SigningKey, current, now)})
	}
	return out
}

func state(k auth.SigningKey, current string, now time.Time) auth.KeyState {
	switch {
	case k.ActivatesAt.After(now):
		return auth.KeyNext
	case k.ID == current:
		return auth.KeyCurrent
	case !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now):
		return auth.KeyExpired
	}
	return auth.KeyRetired
}

// Run reloads the keys whenever Changed is called and every interval (the
// safety net for a lost notification) until ctx ends, so that keys rotated
// by another process are published and used here too.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.changed:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.opt.Log.Warn("reloading signing keys failed; keeping the loaded ones", "err", err)
			}
		case <-tick.C:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.opt.Log.Warn("reloading signing keys failed; keeping the loaded ones", "err", err)
				continue
			}
			if err := m.rotateIfDue(ctx); err != nil && ctx.Err() == nil {
				m.opt.Log.Warn("scheduled key rotation failed; another replica may have done it", "err", err)
			}
		}
	}
}

// Changed tells Run that another process changed the keys: Run reloads
// them at once. It never blocks; calls while a reload is pending coalesce.
func (m *Manager) Changed() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// announce tells the other replicas about a new key, when an Announcer is
// set. A failure only delays them until their database notification or
// poll.
func (m *Manager) announce(ctx context.Context, kid string) {
	if m.opt.Announcer == nil {
		return
	}
	if err := m.opt.Announcer.PublishKeyChange(ctx, kid); err != nil {
		m.opt.Log.Warn("announcing a new signing key failed; other replicas will see it at their next poll", "kid", kid, "err", err)
	}
}

// rotateIfDue rotates when RotateEvery is set and the newest key is older
// than that. A key that is still waiting to sign counts as the newest, so a
// rotation is never stacked on another.
func (m *Manager) rotateIfDue(ctx context.Context) error {
	if m.opt.RotateEvery <= 0 || m.Symmetric() {
		return nil
	}
	keys := m.snap.Load().keys
	if len(keys) == 0 || m.opt.Now().Sub(keys[len(keys)-1].CreatedAt) < m.opt.RotateEvery {
		return nil
	}
	_, err := m.Rotate(ctx, auth.Origin{Actor: SchedulerActor})
	return err
}

// SchedulerActor is the actor of scheduled rotations in the audit trail.
const SchedulerActor = "scheduler"
