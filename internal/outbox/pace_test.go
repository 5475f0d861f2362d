package outbox

import (
	"context"
	"testing"
	"time"
)

// Under Rate, the sender starts at most Rate messages a second.
func TestPace(t *testing.T) {
	s := New(Config{Rate: 200})
	start := time.Now()
	for range 41 {
		if err := s.pace(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 195*time.Millisecond {
		t.Fatalf("41 slots at 200/s took %v, want at least 200ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		_ = s.pace(ctx)
	}
	if err := s.pace(ctx); err == nil {
		t.Fatal("a cancelled pace waited instead of failing")
	}
	if err := New(Config{}).pace(ctx); err != nil {
		t.Fatalf("no Rate: %v", err)
	}
}

// While the API is busy, the sender starts a fifth of Rate.
func TestPaceBusy(t *testing.T) {
	s := New(Config{Rate: 1000, Busy: func() bool { return true }})
	start := time.Now()
	for range 21 {
		if err := s.pace(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 95*time.Millisecond {
		t.Fatalf("21 slots at 1000/s while busy took %v, want at least 100ms (200/s)", d)
	}
}
