package testkit

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// LogCount is a slog handler that counts records by message and forwards
// them, with their attributes, to the test's log until the test ends.
type LogCount struct {
	tb   testing.TB
	mu   sync.Mutex
	n    map[string]int
	done bool // the test has ended: t.Log would panic
}

// NewLogCount returns a LogCount and a logger that writes to it.
func NewLogCount(tb testing.TB) (*LogCount, *slog.Logger) {
	h := &LogCount{tb: tb, n: map[string]int{}}
	tb.Cleanup(func() {
		h.mu.Lock()
		h.done = true
		h.mu.Unlock()
	})
	return h, slog.New(h)
}

// Enabled reports true: every level is counted.
func (h *LogCount) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs returns h: attributes are not counted.
func (h *LogCount) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h: groups are not counted.
func (h *LogCount) WithGroup(string) slog.Handler { return h }

// Handle counts r and logs it to the test.
func (h *LogCount) Handle(_ context.Context, r slog.Record) error {
	msg := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	if !h.done {
		h.tb.Log(msg)
	}
	return nil
}

// Count returns how many records had the message msg.
func (h *LogCount) Count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}
