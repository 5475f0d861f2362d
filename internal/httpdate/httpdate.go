// Package httpdate keeps the Date header of the current second, so that
// answers share one formatted value instead of each reading the clock and
// formatting the date.
package httpdate

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// httpDate is the Date header of the current second, kept by a ticker:
// net/http would otherwise read the clock and format the date for every
// answer, which costs more than the rest of a small answer's headers. The
// value is at most one tick behind the clock (RFC 9110 §6.6.1 asks for the
// best available approximation).
var httpDate struct {
	once  sync.Once
	value atomic.Pointer[[]string]
}

// Tick is how often the Date header is brought up to date.
const Tick = 100 * time.Millisecond

// Value returns the Date header's value, as a header value slice that
// nothing may change (its capacity is full, so appending to it copies).
func Value() []string {
	httpDate.once.Do(func() {
		setDate(time.Now())
		go func() {
			for now := range time.Tick(Tick) {
				setDate(now)
			}
		}()
	})
	return *httpDate.value.Load()
}

func setDate(now time.Time) {
	s := now.UTC().Format(http.TimeFormat)
	v := []string{s}[:1:1]
	if old := httpDate.value.Load(); old == nil || (*old)[0] != v[0] {
		httpDate.value.Store(&v)
	}
}
