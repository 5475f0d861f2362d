package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps the counters in Redis, so that every replica sees every
// failure. Each counter is two keys under the prefix:
//
//	throttle:account:<h>        failures of one account from one address
//	throttle:account:<h>:wait   present while that pair must wait
//	throttle:address:<a>        failures from one address, all accounts
//	throttle:address:<a>:wait   present while that address must wait
//
// where <a> is the address (an IPv6 address's /64) and <h> the hex SHA-256
// of the normalised username and <a>. Usernames are hashed so that keys
// have a fixed length whatever a client sends as a username, and so that a
// key listing does not name the accounts under attack at a glance; this is
// not secrecy, as anyone can hash a list of likely usernames.
//
// A failure is counted by one Lua script per login: INCR of both counters,
// PEXPIRE to the forget window (so a counter idle that long disappears, and
// Redis never fills), and, past the free failures, SET of the wait key with
// the wait as its TTL. Scripts run atomically, so failures on any number of
// replicas at once are each counted exactly once. A wait is the wait key's
// remaining TTL: Redis's own clock, the same for every replica.
type Redis struct {
	c      redis.Cmdable
	prefix string
	p      Policy
}

// NewRedis returns a throttle that keeps its counters in Redis through c,
// every key starting with prefix.
func NewRedis(c redis.Cmdable, prefix string, p Policy) *Redis {
	return &Redis{c: c, prefix: prefix, p: p}
}

func (t *Redis) accountKey(account, addr string) string {
	h := sha256.Sum256([]byte(account + "\x00" + network(addr)))
	return t.prefix + "throttle:account:" + hex.EncodeToString(h[:])
}

func (t *Redis) addressKey(addr string) string {
	return t.prefix + "throttle:address:" + network(addr)
}

// Wait returns how long the client must wait before trying this account
// again; 0 means go ahead.
func (t *Redis) Wait(ctx context.Context, account, addr string) (time.Duration, error) {
	var acct, ip *redis.DurationCmd
	_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		acct = p.PTTL(ctx, t.accountKey(account, addr)+":wait")
		ip = p.PTTL(ctx, t.addressKey(addr)+":wait")
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("throttle: redis wait: %w", err)
	}
	// PTTL answers -2 (as a negative duration) for a missing key.
	return max(0, acct.Val(), ip.Val()), nil
}

// failScript counts one failure on each of two counters.
// KEYS: counter, wait key (for the account), counter, wait key (address).
// ARGV: free failures for the account, for the address, then the first
// and the longest wait and the forget window, in milliseconds.
var failScript = redis.NewScript(`
local base, cap, forget = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[2*i-1])
  redis.call('PEXPIRE', KEYS[2*i-1], forget)
  local over = n - tonumber(ARGV[i])
  if over > 0 then
    local d = base
    for _ = 2, over do
      if d >= cap then break end
      d = d * 2
    end
    if d > cap then d = cap end
    redis.call('SET', KEYS[2*i], '1', 'PX', string.format('%d', d))
  end
end
return 1
`)

// Failed records a failed attempt.
func (t *Redis) Failed(ctx context.Context, account, addr string) error {
	acct, ip := t.accountKey(account, addr), t.addressKey(addr)
	err := failScript.Run(ctx, t.c, []string{acct, acct + ":wait", ip, ip + ":wait"},
		t.p.AccountFree, t.p.AddressFree, ms(t.p.BaseDelay), ms(t.p.MaxDelay), ms(t.p.Forget)).Err()
	if err != nil {
		return fmt.Errorf("throttle: redis failed: %w", err)
	}
	return nil
}

// ms is d in whole milliseconds, at least 1 (Redis's TTL resolution).
func ms(d time.Duration) int64 { return max(1, d.Milliseconds()) }

// Succeeded resets the account's counter for this address.
func (t *Redis) Succeeded(ctx context.Context, account, addr string) error {
	acct := t.accountKey(account, addr)
	if err := t.c.Del(ctx, acct, acct+":wait").Err(); err != nil {
		return fmt.Errorf("throttle: redis succeeded: %w", err)
	}
	return nil
}
