package main

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed wrk/*.lua
var luaFS embed.FS

// script writes wrk/common.lua followed by wrk/NAME.lua to the temporary
// directory and returns the file's path.
func (h *harness) script(name string) string {
	p := filepath.Join(h.tmp, name+".lua")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	common, _ := luaFS.ReadFile("wrk/common.lua")
	own, err := luaFS.ReadFile("wrk/" + name + ".lua")
	if err != nil {
		fail("no wrk script %s: %v", name, err)
	}
	if err := os.WriteFile(p, append(append(common, '\n'), own...), 0o600); err != nil {
		fail("%v", err)
	}
	return p
}

// wrkOut is what wrk/common.lua's done() prints.
type wrkOut struct {
	Requests     int64 `json:"requests"`
	DurationUS   int64 `json:"duration_us"`
	P50US        int64 `json:"p50_us"`
	P99US        int64 `json:"p99_us"`
	MaxUS        int64 `json:"max_us"`
	Non2xx       int64 `json:"non2xx"`
	SocketErrors int64 `json:"socket_errors"`
	C200         int64 `json:"c200"`
	C401         int64 `json:"c401"`
	C429         int64 `json:"c429"`
	C503         int64 `json:"c503"`
	Cother       int64 `json:"cother"`
}

// warm runs l against t for two seconds, unmeasured: the first pass over
// distinct tokens verifies each one's signature, once per token lifetime
// in a real deployment, which a measured run would count against every
// request. Nothing when t is nil.
func (h *harness) warm(t *target, l load) {
	if t == nil {
		return
	}
	l.seconds = 2
	if _, _, err := h.runWrk(t.base, l); err != nil {
		fail("warming %s: %v", t.name, err)
	}
}

// load describes one wrk run.
type load struct {
	script  string            // name of a script in wrk/
	conns   int               // connections (threads: min(conns, -t))
	env     map[string]string // read by the script
	counted bool              // the script counts statuses: success is c200
	seconds int               // the run's length; 0: -duration
}

// runWrk runs wrk against base and returns its summary and CPU time.
func (h *harness) runWrk(base string, l load) (wrkOut, time.Duration, error) {
	threads := min(h.o.threads, l.conns)
	secs := l.seconds
	if secs == 0 {
		secs = int(h.o.duration.Seconds())
	}
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(l.conns),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", "10s", "-s", h.script(l.script), base + "/"}
	cmd := exec.Command("wrk", args...)
	cmd.Env = append(os.Environ(), "BENCH_THREADS="+strconv.Itoa(threads))
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkOut{}, 0, fmt.Errorf("wrk: %v\n%s", err, out.String())
	}
	var w wrkOut
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "BENCHJSON "); ok {
			if err := json.Unmarshal([]byte(j), &w); err != nil {
				return w, 0, fmt.Errorf("wrk summary %q: %v", j, err)
			}
			return w, rusageCPU(cmd.ProcessState), nil
		}
	}
	return w, 0, fmt.Errorf("wrk printed no summary:\n%s", out.String())
}

// measureWrk runs one wrk load against t and measures t meanwhile.
func (h *harness) measureWrk(t *target, l load) (Measure, error) {
	probe := startProbe(t.pid())
	w, lcpu, err := h.runWrk(t.base, l)
	p := probe.end()
	if err != nil {
		return Measure{}, err
	}
	ok := w.Requests - w.Non2xx
	if l.counted {
		ok = w.C200
	}
	secs := float64(w.DurationUS) / 1e6
	n := float64(max(w.Requests, 1))
	m := Measure{
		Ops: ok, RPS: float64(ok) / secs, P50ms: float64(w.P50US) / 1000, P99ms: float64(w.P99US) / 1000,
		ServerCPUus: us(p.cpu) / n, MachineCPUus: us(p.machine) / n, LoadCPUus: us(lcpu) / n,
		PeakRSSMB: mb(p.peak), Errors: w.Non2xx + w.SocketErrors,
	}
	if l.counted {
		m.Extra = map[string]float64{"status_401": float64(w.C401), "status_429": float64(w.C429),
			"status_503": float64(w.C503), "status_other": float64(w.Cother)}
	}
	return m, nil
}

// probe measures a process over an interval: CPU time, the machine's busy
// CPU time and the highest RSS.
type probe struct {
	pid         int
	cpu0, mach0 time.Duration
	mem         *memSampler
}

type probed struct {
	cpu, machine time.Duration
	peak         int64
}

func startProbe(pid int) *probe {
	return &probe{pid: pid, cpu0: procCPU(pid), mach0: machineCPU(), mem: sampleMem(pid)}
}

func (p *probe) end() probed {
	return probed{cpu: procCPU(p.pid) - p.cpu0, machine: machineCPU() - p.mach0, peak: p.mem.Peak()}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// floodResult is what an open-loop login flood saw.
type floodResult struct {
	sent, ok, refused, other int64
	okLat, refusedLat        []time.Duration
	cpu                      time.Duration // the generator's own CPU time
}

// flood sends logins at a fixed rate for d, whatever the answers, from
// this process, and records each answer's status and latency.
func flood(base string, rate float64, d time.Duration) floodResult {
	var r floodResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inflight atomic.Int64
	interval := time.Duration(float64(time.Second) / rate)
	cpu0 := selfCPU()
	start := time.Now()
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(next))
		r.sent++
		if inflight.Load() > 2048 { // the server is not answering at all
			mu.Lock()
			r.other++
			mu.Unlock()
			continue
		}
		wg.Add(1)
		inflight.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			t0 := time.Now()
			code, _, err := post(base, "/auth/login", "", loginBody)
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && code == 200:
				r.ok++
				r.okLat = append(r.okLat, lat)
			case err == nil && (code == 503 || code == 429):
				r.refused++
				r.refusedLat = append(r.refusedLat, lat)
			default:
				r.other++
			}
		}()
	}
	wg.Wait()
	r.cpu = selfCPU() - cpu0
	slices.Sort(r.okLat)
	slices.Sort(r.refusedLat)
	return r
}

// pct returns the q-quantile (0..1) of sorted durations in ms, or 0.
func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return float64(sorted[i]) / float64(time.Millisecond)
}
