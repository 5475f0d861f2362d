package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisEnv names the variable that holds the test Redis's URL.
const RedisEnv = "GATEHOUSE_TEST_REDIS_URL"

// RedisURL returns the test Redis's URL, or skips the test saying why.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(RedisEnv)
	if u == "" {
		tb.Skipf("%s is not set (e.g. redis://127.0.0.1:6379/0): skipping the Redis tests", RedisEnv)
	}
	return u
}

// RedisClient returns a plain client of url, closed when the test ends.
func RedisClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	opt.ContextTimeoutEnabled, opt.DialerRetries = true, 1 // as Gatehouse's client
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Redis returns a client of the tests' Redis and a key prefix of the
// test's own, whose keys are deleted at the end; it skips without Redis.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	u := RedisURL(tb)
	return RedisClient(tb, u), RedisPrefix(tb, u)
}

// RedisPrefix returns a key prefix gatehouse-test:<random>: of the test's
// own in url's Redis, and deletes the keys under it when the test ends.
func RedisPrefix(tb testing.TB, url string) string {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "gatehouse-test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, err := RedisKeys(ctx, c, prefix)
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			tb.Errorf("testkit: delete the keys %s*: %v", prefix, err)
		}
	})
	return prefix
}

// RedisKeys returns the keys that start with prefix.
func RedisKeys(ctx context.Context, c *redis.Client, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}
