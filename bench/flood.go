package main

import (
	"fmt"
	"time"
)

// floodScenario measures authenticated reads while logins arrive at four
// times the login capacity measured just before, from a second load
// generator (this process, open loop: the rate holds whatever the
// answers).
func (h *harness) floodScenario(t *target, b, tokens string) {
	id := b + "/flood"
	if !h.wants(id) {
		return
	}
	capacity := h.loginCapacity(t, b)
	rate := 4 * capacity
	r := &Result{ID: id, What: fmt.Sprintf("GET /me (distinct tokens, wrk) during a login flood at 4× capacity (%.0f logins/s, open loop)", rate)}
	for i := range h.o.runs {
		fr := make(chan floodResult, 1)
		go func() { fr <- flood(t.base, rate, h.o.duration) }()
		m, err := h.measureWrk(t, load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": tokens}})
		f := <-fr
		if err != nil {
			fail("%s: %v\n%s", id, err, tail(t.log))
		}
		secs := h.o.duration.Seconds()
		m.Extra = map[string]float64{
			"flood_rate":           rate,
			"logins_ok_per_s":      float64(f.ok) / secs,
			"refused_per_s":        float64(f.refused) / secs,
			"other_per_s":          float64(f.other) / secs,
			"refused_p50_ms":       pct(f.refusedLat, 0.50),
			"refused_p99_ms":       pct(f.refusedLat, 0.99),
			"admitted_p99_ms":      pct(f.okLat, 0.99),
			"flood_cpu_us_per_req": us(f.cpu) / float64(max(f.sent, 1)),
		}
		h.progress(id, i, m)
		fmt.Printf("  %-22s        logins ok %.0f/s, refused %.0f/s (p50 %.2f ms, p99 %.2f ms), admitted p99 %.0f ms, other %.0f/s\n",
			"", m.Extra["logins_ok_per_s"], m.Extra["refused_per_s"], m.Extra["refused_p50_ms"], m.Extra["refused_p99_ms"],
			m.Extra["admitted_p99_ms"], m.Extra["other_per_s"])
		r.Runs = append(r.Runs, m)
	}
	h.add(r.finish())
}

// loginCapacity returns the median login rate measured on this backend,
// measuring it now when the login scenario did not run.
func (h *harness) loginCapacity(t *target, b string) float64 {
	for _, r := range h.results {
		if r.ID == b+"/login" && r.Median.RPS > 0 {
			return r.Median.RPS
		}
	}
	save := h.o.duration
	h.o.duration = 2 * time.Second
	defer func() { h.o.duration = save }()
	m, err := h.measureWrk(t, load{script: "login", conns: 4, counted: true, env: map[string]string{"BENCH_LOGIN": loginBody}})
	if err != nil || m.RPS <= 0 {
		fail("measuring the login capacity: %v", err)
	}
	return m.RPS
}
