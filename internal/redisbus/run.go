package redisbus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/auth"
)

const (
	// healthInterval is how long the subscription may stay silent before it
	// is pinged; a ping unanswered for as long again means the connection is
	// dead, so a silent failure is noticed within twice this.
	healthInterval = time.Second
	minBackoff     = 100 * time.Millisecond
	// maxBackoff is kept short so that a restarted Redis is used again
	// within a couple of seconds.
	maxBackoff = 2 * time.Second
)

var errNoPong = errors.New("redisbus: subscription did not answer a ping")

// Run keeps a subscription to the channel until ctx ends or Close is called.
// After every successful (re)subscription it calls onConnect, where the
// caller reloads its whole state from the database: messages published while
// the subscription was down are not delivered again. If onConnect fails the
// subscription is dropped and retried. Each valid message is passed to
// onRevocations; malformed ones are logged and skipped. Lost connections are
// retried with capped exponential backoff (100ms to 2s). Both callbacks run
// on Run's goroutine, one at a time. Either may be nil.
func (b *Bus) Run(ctx context.Context, onConnect func(context.Context) error, onRevocations func([]auth.Revocation)) {
	r := &runner{b: b, channel: b.channel, what: "revocation", onConnect: onConnect, delay: minBackoff}
	r.deliver = func(payload string) { r.deliverRevocations(payload, onRevocations) }
	b.run(ctx, r)
}

func (b *Bus) run(ctx context.Context, r *runner) {
	ctx, cancel := b.runContext(ctx)
	defer cancel()
	for ctx.Err() == nil {
		err := r.session(ctx)
		b.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		d := r.nextDelay()
		r.lost(err, d)
		if !sleep(ctx, d) {
			return
		}
	}
}

// runContext returns ctx, also cancelled when the Bus is closed.
func (b *Bus) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-b.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// runner is the state of one Run call.
type runner struct {
	b         *Bus
	channel   string
	what      string // what the channel carries, for the logs
	onConnect func(context.Context) error
	deliver   func(payload string)
	delay     time.Duration // next backoff
	down      bool          // the loss was logged and no subscription since
}

// session subscribes and receives until the connection fails or ctx ends.
func (r *runner) session(ctx context.Context) error {
	ps := r.b.client.Subscribe(ctx) // no channel yet: no I/O
	defer ps.Close()
	// Closing the connection is what interrupts a blocked receive.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	if err := ps.Subscribe(ctx, r.channel); err != nil {
		return fmt.Errorf("redisbus: subscribe: %w", err)
	}
	return r.receive(ctx, ps)
}

// receive handles messages, pinging the connection when it is silent.
func (r *runner) receive(ctx context.Context, ps *redis.PubSub) error {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		switch {
		case err == nil:
			pinged = false
			if err := r.handle(ctx, msg); err != nil {
				return err
			}
		case !isTimeout(err):
			return fmt.Errorf("redisbus: receive: %w", err)
		case pinged:
			return errNoPong
		default:
			if err := ps.Ping(ctx); err != nil {
				return fmt.Errorf("redisbus: ping subscription: %w", err)
			}
			pinged = true
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// handle acts on one item from the subscription: a subscribe confirmation
// (also sent when go-redis resubscribes on its own) or a message.
func (r *runner) handle(ctx context.Context, msg any) error {
	switch m := msg.(type) {
	case *redis.Subscription:
		if m.Kind == "subscribe" {
			return r.subscribed(ctx)
		}
	case *redis.Message:
		r.deliver(m.Payload)
	}
	return nil
}

func (r *runner) subscribed(ctx context.Context) error {
	if r.onConnect != nil {
		if err := r.onConnect(ctx); err != nil {
			return fmt.Errorf("redisbus: reload after subscribing: %w", err)
		}
	}
	r.b.connected.Store(true)
	r.delay, r.down = minBackoff, false
	r.b.log.Info("redisbus: subscribed to "+r.what+"s", "channel", r.channel)
	return nil
}

func (r *runner) deliverRevocations(payload string, onRevocations func([]auth.Revocation)) {
	recs, err := decode(payload)
	if err != nil {
		r.b.log.Warn("redisbus: skipped malformed revocation message",
			"err", err, "bytes", len(payload))
		return
	}
	if len(recs) > 0 && onRevocations != nil {
		onRevocations(recs)
	}
}

// lost logs a failed session: at Warn when the bus goes down, then at Debug
// for every further attempt until a subscription succeeds.
func (r *runner) lost(err error, retryIn time.Duration) {
	if r.down {
		r.b.log.Debug("redisbus: reconnect failed", "err", err, "retry_in", retryIn)
		return
	}
	r.down = true
	r.b.log.Warn("redisbus: "+r.what+" subscription lost; retrying",
		"err", err, "retry_in", retryIn)
}

// nextDelay returns the jittered backoff (between half and all of the
// current step) and doubles the step, up to maxBackoff.
func (r *runner) nextDelay() time.Duration {
	d := r.delay/2 + rand.N(r.delay/2+1)
	r.delay = min(2*r.delay, maxBackoff)
	return d
}

// sleep waits for d; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
