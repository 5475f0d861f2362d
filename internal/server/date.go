package server

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

// dateTick is how often the Date header is brought up to date.
const dateTick = 100 * time.Millisecond

// dateValue returns the Date header's value, as a header value slice that
// nothing may change.
func dateValue() []string {
	httpDate.once.Do(func() {
		setDate(time.Now())
		go func() {
			for now := range time.Tick(dateTick) {
				setDate(now)
			}
		}()
	})
	return *httpDate.value.Load()
}

func setDate(now time.Time) {
	v := shared(now.UTC().Format(http.TimeFormat))
	if old := httpDate.value.Load(); old == nil || (*old)[0] != v[0] {
		httpDate.value.Store(&v)
	}
}
