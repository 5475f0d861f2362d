package ratelimit

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps counters in Redis, shared by every replica. A key of limit
// L for id is two Redis keys under the prefix:
//
//	ratelimit:<L>:<h>       the count
//	ratelimit:<L>:<h>:wait  a failure counter's wait, present while it lasts
//
// where <h> is the hex of the first 128 bits of SHA-256(L, 0, id): a fixed
// length whatever the id, and no account or address named in a key
// listing (not secrecy: anyone can hash a list of likely names).
//
// Each operation is one Lua script, run atomically: Hit is INCR and
// PEXPIRE of the count (to the window, from the last event for a failure
// counter and from the first for a plain rate) and, past the free events,
// SET of the wait key with the wait as its TTL; Take checks every key and
// counts on all or none. Every key is written with a TTL, so Redis never
// fills. A wait is a key's remaining TTL: Redis's clock, the same for every
// replica.
type Redis struct {
	c      redis.Cmdable
	prefix string
}

// NewRedis returns a Redis store that keeps counters through c, every key
// starting with prefix.
func NewRedis(c redis.Cmdable, prefix string) *Redis { return &Redis{c: c, prefix: prefix} }

// Name returns the Redis key of k's count; its wait key adds ":wait".
func (r *Redis) Name(k Key) string {
	d := hashKey(nil, k)
	return r.prefix + "ratelimit:" + k.Limit.Name + ":" + hex.EncodeToString(d[:])
}

// args returns the KEYS (count, wait per key) and ARGV (free, window,
// backoff, max backoff per key, in ms) of a script over keys.
func (r *Redis) args(keys []Key) ([]string, []any) {
	ks := make([]string, 0, 2*len(keys))
	argv := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		n := r.Name(k)
		ks = append(ks, n, n+":wait")
		l := k.Limit
		backoff := int64(0)
		if !l.isRate() {
			backoff = ms(l.Backoff)
		}
		argv = append(argv, l.Free, ms(l.Window), backoff, ms(l.MaxBackoff))
	}
	return ks, argv
}

// ms is d in whole milliseconds, at least 1 (Redis's TTL resolution).
func ms(d time.Duration) int64 { return max(1, d.Milliseconds()) }

// luaCommon has the functions every script shares. Key i's count is
// KEYS[2i-1], its wait key KEYS[2i], its policy ARGV[4i-3..4i].
const luaCommon = `
local function policy(i)
  local o = 4*(i-1)
  return tonumber(ARGV[o+1]), tonumber(ARGV[o+2]), tonumber(ARGV[o+3]), tonumber(ARGV[o+4])
end
local function wait(i)
  local free, window, base = policy(i)
  if base > 0 then
    return math.max(0, redis.call('PTTL', KEYS[2*i]))
  end
  local n = tonumber(redis.call('GET', KEYS[2*i-1]) or '0')
  if n >= free then
    return math.max(0, redis.call('PTTL', KEYS[2*i-1]))
  end
  return 0
end
local function hit(i)
  local free, window, base, cap = policy(i)
  local c = KEYS[2*i-1]
  local n = redis.call('INCR', c)
  if base > 0 then
    redis.call('PEXPIRE', c, window)
    local over = n - free
    if over <= 0 then return 0 end
    local d = base
    for _ = 2, over do
      if d >= cap then break end
      d = d * 2
    end
    if d > cap then d = cap end
    redis.call('SET', KEYS[2*i], '1', 'PX', string.format('%d', d))
    return d
  end
  local ttl = redis.call('PTTL', c)
  if ttl < 0 then
    redis.call('PEXPIRE', c, window)
    ttl = window
  end
  if n >= free then return ttl end
  return 0
end
`

var (
	waitScript = redis.NewScript(luaCommon + `
local w = 0
for i = 1, #KEYS/2 do w = math.max(w, wait(i)) end
return w
`)
	hitScript = redis.NewScript(luaCommon + `
local w = 0
for i = 1, #KEYS/2 do w = math.max(w, hit(i)) end
return w
`)
	takeScript = redis.NewScript(luaCommon + `
local w = 0
for i = 1, #KEYS/2 do w = math.max(w, wait(i)) end
if w > 0 then return w end
for i = 1, #KEYS/2 do hit(i) end
return 0
`)
)

func (r *Redis) run(ctx context.Context, op string, s *redis.Script, keys []Key) (time.Duration, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ks, argv := r.args(keys)
	n, err := s.Run(ctx, r.c, ks, argv...).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis %s: %w", op, err)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// Wait returns how long the keys must wait before their next event (the
// longest of them); 0 means go ahead.
func (r *Redis) Wait(ctx context.Context, keys ...Key) (time.Duration, error) {
	return r.run(ctx, "wait", waitScript, keys)
}

// Hit counts an event on every key and returns the longest wait that the
// keys must now observe.
func (r *Redis) Hit(ctx context.Context, keys ...Key) (time.Duration, error) {
	return r.run(ctx, "hit", hitScript, keys)
}

// Take counts an event on every key if none of them must wait, and
// returns 0; otherwise it counts nothing and returns the longest wait.
func (r *Redis) Take(ctx context.Context, keys ...Key) (time.Duration, error) {
	return r.run(ctx, "take", takeScript, keys)
}

// Reset forgets the keys' counts.
func (r *Redis) Reset(ctx context.Context, keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	ks, _ := r.args(keys)
	if err := r.c.Del(ctx, ks...).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis reset: %w", err)
	}
	return nil
}

// Seen reports whether k has a live counter: an event within its window.
func (r *Redis) Seen(ctx context.Context, k Key) (bool, error) {
	n, err := r.c.Exists(ctx, r.Name(k)).Result()
	if err != nil {
		return false, fmt.Errorf("ratelimit: redis seen: %w", err)
	}
	return n > 0, nil
}
