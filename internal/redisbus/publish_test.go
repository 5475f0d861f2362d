package redisbus

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestPublishSetsKeysAndPublishes(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	prefix := testkit.RedisPrefix(t, url)
	bus := openBus(t, url, prefix, nil)
	raw := testkit.RedisClient(t, url)
	sub := raw.Subscribe(t.Context(), bus.Channel())
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(t.Context()); err != nil { // subscribe confirmation
		t.Fatal(err)
	}
	recs := []auth.Revocation{
		rev(auth.RevokedToken, "jti-1", 10*time.Minute),
		rev(auth.RevokedSession, "sid-1", 5*time.Minute),
		rev(auth.RevokedToken, "jti-old", -time.Minute),
	}
	if err := bus.Publish(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	checkKey(t, raw, prefix+"revoked:jti-1", 10*time.Minute)
	checkKey(t, raw, prefix+"revoked-session:sid-1", 5*time.Minute)
	if n := raw.Exists(t.Context(), prefix+"revoked:jti-old").Val(); n != 0 {
		t.Error("an expired revocation was written as a key")
	}
	checkMessage(t, sub, recs)
}

// checkKey checks that key exists with a TTL close to want (at most want:
// the records' expiries are truncated to the second).
func checkKey(t *testing.T, raw *redis.Client, key string, want time.Duration) {
	t.Helper()
	ttl, err := raw.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > want || ttl < want-3*time.Second {
		t.Errorf("%s: TTL %v, want about %v", key, ttl, want)
	}
}

// checkMessage reads one message and checks it against the documented
// format: a compact JSON array of {"kind","id","exp"}.
func checkMessage(t *testing.T, sub *redis.PubSub, want []auth.Revocation) {
	t.Helper()
	msg, err := sub.ReceiveMessage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(msg.Payload), &got); err != nil {
		t.Fatalf("payload %q: %v", msg.Payload, err)
	}
	if strings.ContainsAny(msg.Payload, " \n") || len(got) != len(want) {
		t.Fatalf("payload %q: want %d records, compact", msg.Payload, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g["kind"] != string(w.Kind) || g["id"] != w.ID || g["exp"] != float64(w.ExpiresAt.Unix()) || len(g) != 3 {
			t.Errorf("record %d = %v, want %+v", i, g, w)
		}
	}
}

func TestPublishRejectsInvalidRecords(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	bus := openBus(t, url, testkit.RedisPrefix(t, url), nil)
	for _, r := range []auth.Revocation{
		{Kind: "user", ID: "x", ExpiresAt: time.Now().Add(time.Minute)},
		{Kind: auth.RevokedToken, ID: "", ExpiresAt: time.Now().Add(time.Minute)},
		{Kind: auth.RevokedToken, ID: "x"},
	} {
		if err := bus.Publish(t.Context(), []auth.Revocation{r}); err == nil {
			t.Errorf("Publish(%+v) succeeded; subscribers would reject it", r)
		}
	}
	if err := bus.Publish(t.Context(), nil); err != nil {
		t.Errorf("Publish(nil) = %v", err)
	}
}

func TestOpenRejectsBadURLWithoutLeakingIt(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://user:s3cret@host:6379", "redis://user:s3cret@host:6379/0\x7f", "redis://u:s3cret@[::1"} {
		_, err := Open(t.Context(), u, Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open error leaks the password: %v", err)
		}
		var ue interface{ Unwrap() error }
		if !errors.As(err, &ue) {
			t.Errorf("Open error not wrapped: %v", err)
		}
	}
}

func BenchmarkPublish(b *testing.B) {
	url := testkit.RedisURL(b)
	bus := openBus(b, url, testkit.RedisPrefix(b, url), nil)
	recs := []auth.Revocation{rev(auth.RevokedToken, "", time.Minute)}
	i := 0
	for b.Loop() {
		i++
		recs[0].ID = "bench-" + strconv.Itoa(i)
		if err := bus.Publish(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
}
