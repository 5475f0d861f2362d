package audit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// FoldWindow is how long refused attempts of one kind from one address are
// folded into one event.
const FoldWindow = time.Second

// maxFolds bounds the addresses followed at once; past it, refused
// attempts are folded by kind alone.
const maxFolds = 10_000

// folder keeps a flood of refused attempts (a login throttled, or refused
// because every hashing slot was busy) from writing a row each: the first
// of a kind from an address in a FoldWindow is recorded, the others in that
// window only counted, and the count is recorded with the next one after
// the window, or by Flush.
type folder struct {
	mu    sync.Mutex
	folds map[string]*fold
}

type fold struct {
	start  time.Time       // when the recorded event of this window was
	count  int             // events folded since
	sample auth.AuditEvent // the last event folded, to record the count with
}

// admit reports whether e, about to be recorded at now, should be; when a
// window has ended with events folded into it, it first returns their
// summary to record.
func (f *folder) admit(key string, e auth.AuditEvent, now time.Time) (record bool, summary *auth.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folds == nil {
		f.folds = map[string]*fold{}
	}
	if len(f.folds) >= maxFolds {
		if _, ok := f.folds[key]; !ok {
			key = string(e.Event) + "\x00" + e.Detail + "\x00*"
			e.IP = "*"
		}
	}
	fl, ok := f.folds[key]
	if ok && now.Sub(fl.start) < FoldWindow {
		fl.count++
		fl.sample = e
		return false, nil
	}
	if ok && fl.count > 0 {
		s := summarise(fl)
		summary = &s
	}
	f.folds[key] = &fold{start: now}
	return true, summary
}

// flush returns the summaries of the windows that have ended, and forgets
// them.
func (f *folder) flush(now time.Time) []auth.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []auth.AuditEvent
	for k, fl := range f.folds {
		if now.Sub(fl.start) < FoldWindow {
			continue
		}
		if fl.count > 0 {
			out = append(out, summarise(fl))
		}
		delete(f.folds, k)
	}
	return out
}

func summarise(fl *fold) auth.AuditEvent {
	e := fl.sample
	e.Detail = fmt.Sprintf("%s; %d more like it folded in, from %s", e.Detail, fl.count, fl.start.UTC().Format(time.RFC3339))
	return e
}

// folded says which events fold: refused logins, which a flood makes by
// the thousand.
func folded(e auth.AuditEvent) bool {
	return e.Event == auth.AuditLoginFailed && (e.Detail == auth.AuditReasonThrottled ||
		e.Detail == auth.AuditReasonHashingBusy || e.Detail == auth.AuditReasonMalformed)
}

// Flush records the summaries of folded events whose window has ended. The
// prune loop calls it; tests may too.
func (r *Recorder) Flush(ctx context.Context) {
	if r == nil {
		return
	}
	for _, s := range r.folds.flush(r.Now()) {
		r.write(ctx, s)
	}
}
