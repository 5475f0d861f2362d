package redisbus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestKeyChangesReachOtherBusesAndNotTheRevocationChannel(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	prefix := testkit.RedisPrefix(t, url)
	a := openBus(t, url, prefix, nil)
	b := openBus(t, url, prefix, nil)
	other := openBus(t, url, prefix+"other:", nil)
	if !strings.HasPrefix(a.KeysChannel(), prefix) || a.KeysChannel() == a.Channel() {
		t.Fatalf("keys channel %q", a.KeysChannel())
	}

	connects := make(chan struct{}, 4)
	kids := make(chan string, 4)
	strays := make(chan string, 4)
	revs := newReplica()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.RunKeys(ctx, func(context.Context) error { connects <- struct{}{}; return nil }, func(kid string) { kids <- kid })
	go other.RunKeys(ctx, nil, func(kid string) { strays <- kid })
	revs.run(t, b)
	revs.waitConnect(t, 2*time.Second)
	select {
	case <-connects:
	case <-time.After(2 * time.Second):
		t.Fatal("RunKeys did not subscribe")
	}
	time.Sleep(100 * time.Millisecond) // other's subscription

	for _, bad := range []string{"", strings.Repeat("k", maxKidLen+1)} {
		a.client.Publish(ctx, a.KeysChannel(), bad)
	}
	if err := a.PublishKeyChange(ctx, "kid-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case kid := <-kids:
		if kid != "kid-1" {
			t.Fatalf("got kid %q, want kid-1 (malformed messages must be skipped)", kid)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the key change did not arrive")
	}
	select {
	case recs := <-revs.recs:
		t.Fatalf("a key change arrived as revocations: %v", recs)
	case kid := <-strays:
		t.Fatalf("a bus of another prefix got %q", kid)
	case <-time.After(200 * time.Millisecond):
	}
}
