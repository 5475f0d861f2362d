package redisbus

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// keysChannelName is the channel that announces signing-key changes, before
// the prefix.
const keysChannelName = "gatehouse:keys"

// maxKidLen bounds the kid that a key message carries.
const maxKidLen = 256

// KeysChannel returns the name of the channel that announces signing-key
// changes. Each message is the kid of the new key; subscribers reload the
// keys from the database, which stays the truth.
func (b *Bus) KeysChannel() string { return b.prefix + keysChannelName }

// PublishKeyChange announces that the signing keys changed (kid is the new
// key), so that every replica reloads them at once. Store the key first.
func (b *Bus) PublishKeyChange(ctx context.Context, kid string) error {
	if err := b.client.Publish(ctx, b.KeysChannel(), kid).Err(); err != nil {
		return fmt.Errorf("redisbus: publish key change: %w", err)
	}
	return nil
}

// RunKeys is Run for the key channel: onConnect after every (re)subscription
// (reload the keys there: changes announced while away are not delivered
// again), and onChange with the kid of each announced key. Messages that
// are not a plausible kid are logged and skipped.
func (b *Bus) RunKeys(ctx context.Context, onConnect func(context.Context) error, onChange func(kid string)) {
	r := &runner{b: b, channel: b.KeysChannel(), what: "key change", onConnect: onConnect, delay: minBackoff}
	r.deliver = func(kid string) {
		if kid == "" || len(kid) > maxKidLen || !utf8.ValidString(kid) {
			b.log.Warn("redisbus: skipped malformed key-change message", "bytes", len(kid))
			return
		}
		if onChange != nil {
			onChange(kid)
		}
	}
	b.run(ctx, r)
}
