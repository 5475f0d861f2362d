package app

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/keys"
)

// keyPollInterval is how often every replica reads the signing keys even
// without a notification: the safety net under Redis and LISTEN/NOTIFY,
// which bring a key change within a few milliseconds.
const keyPollInterval = time.Second

// initKeys builds the key manager, sealing the private keys at rest when
// GATEHOUSE_ENCRYPTION_KEY is set, and loads the keys. A database of keys
// sealed with a key that is not configured fails here, at start.
func (a *App) initKeys(ctx context.Context) error {
	cfg := a.Config
	s, err := cfg.Sealer()
	if err != nil {
		return err
	}
	a.Sealer = s
	opt := keys.Options{
		Algorithm: cfg.SigningAlg, Secret: []byte(cfg.JWTSecret), Store: a.Store,
		AccessTTL: cfg.AccessTTL, PublishDelay: cfg.KeyPublishDelay, RotateEvery: cfg.KeyRotateEvery, Log: a.Log,
		Audit: a.Audit, Sealer: s,
	}
	if a.Bus != nil {
		opt.Announcer = a.Bus
	}
	a.Keys = keys.New(opt)
	return a.Keys.Init(ctx)
}

// runKeys keeps the keys in step with the other processes: a key change
// made anywhere (a replica, the CLI, the schedule) reaches this one through
// PostgreSQL's NOTIFY, sent in the change's transaction, and through Redis
// when it is configured; the poll catches anything both missed.
func (a *App) runKeys(ctx context.Context) {
	go a.Keys.Run(ctx, keyPollInterval)
	if a.Keys.Symmetric() {
		return
	}
	changed := func(context.Context) { a.Keys.Changed() }
	reconnected := func(context.Context) error { a.Keys.Changed(); return nil }
	if a.Store.CanListen() {
		go a.Store.ListenKeys(ctx, reconnected, changed)
	}
	if a.Bus != nil {
		go a.Bus.RunKeys(ctx, reconnected, func(string) { a.Keys.Changed() })
	}
}
