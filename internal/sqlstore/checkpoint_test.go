package sqlstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// TestWALRestartsUnderSteadyWrites refreshes sessions back to back, as a
// refresh load does, with reads alongside, and checks that the WAL is
// wholly checkpointed and restarted while the writes go on (its header's
// checkpoint sequence number, bumped by every restart, moves), and that
// its file is cut back to walSizeLimit, instead of growing with every
// write.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	url := sqliteURL(t)
	s := closeAtEnd(t, openMigrated(t, url))
	ctx := context.Background()
	u := auth.User{Username: "wal", Role: auth.RoleUser, Active: true, PasswordHash: "h"}
	if err := s.CreateUser(ctx, &u, auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	wal := strings.TrimPrefix(url, "sqlite:") + "-wal"
	var stop atomic.Bool
	var peak, restarts atomic.Int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		last := uint32(0)
		for !stop.Load() {
			if fi, err := os.Stat(wal); err == nil && fi.Size() > peak.Load() {
				peak.Store(fi.Size())
			}
			if seq, ok := walCheckpointSeq(wal); ok {
				if last != 0 && seq != last {
					restarts.Add(1)
				}
				last = seq
			}
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				t.Error(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	const chains, per = 8, 2500
	var wg sync.WaitGroup
	start := time.Now()
	for c := range chains {
		wg.Go(func() {
			now := time.Now()
			h := fmt.Sprintf("%d-0", c)
			sess := auth.Session{ID: fmt.Sprint("s", c), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateSession(ctx, sess, h, auth.Effects{}); err != nil {
				t.Error(err)
				return
			}
			for i := 1; i <= per; i++ {
				next := fmt.Sprintf("%d-%d", c, i)
				if _, err := s.RotateRefreshToken(ctx, auth.Rotation{PresentedHash: h, NewHash: next, Now: now,
					SessionTTL: time.Hour, ReuseInterval: 10 * time.Second}); err != nil {
					t.Error(err)
					return
				}
				h = next
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	sampler.Wait()
	time.Sleep(3 * checkpointEvery)
	if _, err := s.RotateRefreshToken(ctx, auth.Rotation{PresentedHash: "0-2500", NewHash: "0-2501", Now: time.Now(),
		SessionTTL: time.Hour, ReuseInterval: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rotations in %s: WAL peak %d MiB, now %d MiB, %d restarts seen", chains*per, time.Since(start).Round(time.Millisecond), peak.Load()>>20, fi.Size()>>20, restarts.Load())
	if restarts.Load() < 2 {
		t.Errorf("the WAL restarted %d times during %d rotations (%s), want at least 2", restarts.Load(), chains*per, time.Since(start).Round(time.Millisecond))
	}
	if fi.Size() > walSizeLimit {
		t.Errorf("WAL file is %d MiB after the writes, want at most %d MiB", fi.Size()>>20, walSizeLimit>>20)
	}
}

// walCheckpointSeq reads the checkpoint sequence number of a WAL file's
// header (bytes 12-15, big-endian), which every restart of the WAL
// increments.
func walCheckpointSeq(path string) (uint32, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var h [16]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, false
	}
	return binary.BigEndian.Uint32(h[12:]), true
}
