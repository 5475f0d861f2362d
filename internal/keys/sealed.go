package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
)

// generate makes a key of the configured algorithm, its private key sealed
// with the kid as associated data when a Sealer is set.
func (m *Manager) generate(now, activatesAt time.Time) (auth.SigningKey, error) {
	k, err := Generate(m.opt.Algorithm, now, activatesAt)
	if err != nil || m.opt.Sealer == nil {
		return k, err
	}
	sealed, err := m.opt.Sealer.Seal([]byte(k.ID), k.PrivateKey)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("keys: seal new key: %w", err)
	}
	k.PrivateKey = sealed
	return k, nil
}

// open returns the PKCS #8 DER of a stored key: the stored bytes of a key
// stored before sealing was on, else what they open to. The errors say
// which setting to fix.
func (m *Manager) open(sk auth.SigningKey) ([]byte, error) {
	if !seal.IsSealed(sk.PrivateKey) {
		return sk.PrivateKey, nil
	}
	if m.opt.Sealer == nil {
		return nil, fmt.Errorf("signing key %s is sealed at rest but GATEHOUSE_ENCRYPTION_KEY is not set: set it to the key that sealed it", sk.ID)
	}
	der, err := m.opt.Sealer.Open([]byte(sk.ID), sk.PrivateKey)
	switch {
	case errors.Is(err, seal.ErrKeyNotConfigured):
		return nil, fmt.Errorf("signing key %s was sealed with another encryption key (%w): set GATEHOUSE_ENCRYPTION_KEY to that key, or add it to GATEHOUSE_ENCRYPTION_KEY_OLD", sk.ID, err)
	case err != nil:
		return nil, fmt.Errorf("signing key %s does not open with the configured GATEHOUSE_ENCRYPTION_KEY: %w", sk.ID, err)
	}
	return der, nil
}

// warnUnsealed logs the loaded keys that a Sealer would seal but that are
// stored in the clear (stored before GATEHOUSE_ENCRYPTION_KEY was set).
func (m *Manager) warnUnsealed() {
	if m.opt.Sealer == nil {
		return
	}
	n := 0
	for _, k := range m.snap.Load().keys {
		if !seal.IsSealed(k.PrivateKey) {
			n++
		}
	}
	if n > 0 {
		m.opt.Log.Warn("signing keys are stored unsealed; run: gatehouse keys reseal", "keys", n)
	}
}

// ResealResult counts what Reseal did.
type ResealResult struct {
	Resealed  int // keys now sealed with the current key
	Unchanged int // keys that already were
}

// ErrNoEncryptionKey means Reseal was called without a Sealer.
var ErrNoEncryptionKey = errors.New("keys: GATEHOUSE_ENCRYPTION_KEY is not set: there is no key to seal with (generate one with: openssl rand -hex 32)")

// Reseal seals every stored key, expired ones included, with the current
// encryption key: keys stored in the clear and keys sealed with an old key.
// It is idempotent, and safe next to other processes: each key is replaced
// only if its stored bytes did not change meanwhile.
func (m *Manager) Reseal(ctx context.Context) (ResealResult, error) {
	var res ResealResult
	if m.Symmetric() {
		return res, nil
	}
	if m.opt.Sealer == nil {
		return res, ErrNoEncryptionKey
	}
	stored, err := m.opt.Store.SigningKeys(ctx, time.Time{})
	if err != nil {
		return res, fmt.Errorf("keys: reseal: %w", err)
	}
	for _, sk := range stored {
		if m.opt.Sealer.SealedWithPrimary(sk.PrivateKey) {
			res.Unchanged++
			continue
		}
		if err := m.reseal(ctx, sk); err != nil {
			return res, err
		}
		res.Resealed++
	}
	return res, m.Reload(ctx)
}

func (m *Manager) reseal(ctx context.Context, sk auth.SigningKey) error {
	der, err := m.open(sk)
	if err != nil {
		return fmt.Errorf("keys: reseal: %w", err)
	}
	plain := sk
	plain.PrivateKey = der
	if _, err := parsePrivate(plain); err != nil {
		return fmt.Errorf("keys: reseal: %w", err)
	}
	sealed, err := m.opt.Sealer.Seal([]byte(sk.ID), der)
	if err != nil {
		return fmt.Errorf("keys: reseal %s: %w", sk.ID, err)
	}
	ok, err := m.opt.Store.ReplacePrivateKey(ctx, sk.ID, sk.PrivateKey, sealed)
	if err != nil {
		return fmt.Errorf("keys: reseal %s: %w", sk.ID, err)
	}
	if !ok {
		return fmt.Errorf("keys: reseal %s: %w", sk.ID, auth.Errorf(auth.EConflict, "the key changed while it was resealed; run the command again"))
	}
	m.opt.Log.Info("resealed signing key", "kid", sk.ID, "encryption_key", m.opt.Sealer.Primary())
	return nil
}
