package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// openLoad is a fixed-rate load of one kind of request: request i is due
// at start + i/rate, whatever the answers to the earlier ones. A pool of
// workers, each with a keep-alive connection and at most one request in
// flight, takes the schedule in order: a worker takes the next request,
// sleeps until it is due and sends it, so that a request leaves when it is
// due or, when every worker is waiting for an answer, as soon as one is
// free. Latency counts from when a request was due, not from when it
// left: a server that stalls is charged for every request that waited
// behind the stall (no coordinated omission).
type openLoad struct {
	method, url string
	body        func(i int) string // the JSON body of request i
	want        int                // the status of a success
	rate        float64            // requests per second
	d           time.Duration      // how long requests are due
	conns       int                // workers
}

// openResult is what an open-loop load saw.
type openResult struct {
	sent, ok, other int64
	elapsed         time.Duration   // from the first request due to the last answer
	lat             []time.Duration // of the successes, from due to answered, sorted
	lag             []time.Duration // of every request, from due to sent, sorted
}

// run sends the schedule and waits for every answer.
func (l openLoad) run() openResult {
	tr := &http.Transport{MaxIdleConnsPerHost: l.conns, MaxConnsPerHost: l.conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	interval := time.Duration(float64(time.Second) / l.rate)
	n := int(l.d / interval)
	r := openResult{sent: int64(n), lat: make([]time.Duration, 0, n), lag: make([]time.Duration, 0, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range l.conns {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				at := start.Add(time.Duration(i) * interval)
				sleepUntil(at)
				lag := time.Since(at)
				code := l.send(c, i)
				lat := time.Since(at)
				mu.Lock()
				r.lag = append(r.lag, lag)
				if code == l.want {
					r.ok++
					r.lat = append(r.lat, lat)
				} else {
					r.other++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.Sort(r.lat)
	slices.Sort(r.lag)
	return r
}

// sleepUntil returns at t, within about 0.1 ms on an idle machine. Go's
// timers wake up to a millisecond late on Linux (the netpoller waits in
// whole milliseconds), which would add itself to every latency of a
// 5 ms goal; so the last 2 ms are slept with nanosleep, which blocks the
// goroutine's thread that long (one thread at a time at the rates used).
func sleepUntil(t time.Time) {
	if d := time.Until(t) - 2*time.Millisecond; d > 0 {
		time.Sleep(d)
	}
	if d := time.Until(t); d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		_ = syscall.Nanosleep(&ts, nil) // interrupted: a little early, no harm
	}
}

// send sends request i and returns its status, 0 when it failed.
func (l openLoad) send(c *http.Client, i int) int {
	return postJSON(c, l.method, l.url, strings.NewReader(l.body(i)))
}

// postJSON sends a JSON body, reads the answer to its end (so that the
// connection is reused) and returns its status, 0 when it failed.
func postJSON(c *http.Client, method, url string, body io.Reader) int {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0
	}
	return res.StatusCode
}
