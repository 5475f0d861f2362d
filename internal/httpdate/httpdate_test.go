package httpdate

import (
	"net/http"
	"testing"
	"time"
)

func TestValueFollowsTheClock(t *testing.T) {
	for range 3 {
		v := Value()
		if len(v) != 1 || cap(v) != 1 {
			t.Fatalf("Value() = %q (cap %d): want one element, capacity full", v, cap(v))
		}
		got, err := http.ParseTime(v[0])
		if err != nil {
			t.Fatalf("Date %q: %v", v[0], err)
		}
		if d := time.Since(got); d < -time.Second || d > time.Second+Tick {
			t.Fatalf("Date %s is %s away from the clock", got, d)
		}
		time.Sleep(600 * time.Millisecond)
	}
}
