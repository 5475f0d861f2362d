package config

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/seal"
)

// encryptionEnv reads GATEHOUSE_ENCRYPTION_KEY and the comma-separated
// GATEHOUSE_ENCRYPTION_KEY_OLD. Keys are taken from the environment only,
// never from flags, which other users of the machine can read.
func (l *Loader) encryptionEnv() {
	if v, ok := l.lookup("GATEHOUSE_ENCRYPTION_KEY"); ok {
		k, err := seal.ParseKey(v)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("GATEHOUSE_ENCRYPTION_KEY: %w", err))
		}
		l.cfg.EncryptionKey = k
	}
	old, ok := l.lookup("GATEHOUSE_ENCRYPTION_KEY_OLD")
	if !ok {
		return
	}
	if l.cfg.EncryptionKey == nil {
		l.errs = append(l.errs, fmt.Errorf("GATEHOUSE_ENCRYPTION_KEY_OLD is set without GATEHOUSE_ENCRYPTION_KEY: set the new key too, then run gatehouse keys reseal"))
		return
	}
	for i, item := range strings.Split(old, ",") {
		k, err := seal.ParseKey(item)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("GATEHOUSE_ENCRYPTION_KEY_OLD: key %d: %w", i+1, err))
			continue
		}
		l.cfg.EncryptionKeysOld = append(l.cfg.EncryptionKeysOld, k)
	}
}

// Sealer returns the sealer of the configured keys, or nil when
// GATEHOUSE_ENCRYPTION_KEY is not set.
func (c Config) Sealer() (*seal.Sealer, error) {
	if c.EncryptionKey == nil {
		return nil, nil
	}
	s, err := seal.New(c.EncryptionKey, c.EncryptionKeysOld...)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_ENCRYPTION_KEY: %w", err)
	}
	return s, nil
}
