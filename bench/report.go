package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Measure is one run's figures, or the per-field medians of several.
type Measure struct {
	Ops          int64              `json:"ops,omitempty"`
	RPS          float64            `json:"per_s,omitempty"`                 // successful operations per second
	P50ms        float64            `json:"p50_ms,omitempty"`                // latency, as the load generator saw it
	P99ms        float64            `json:"p99_ms,omitempty"`                //
	ServerCPUus  float64            `json:"server_cpu_us_per_op,omitempty"`  // the server process's CPU time ÷ requests
	MachineCPUus float64            `json:"machine_cpu_us_per_op,omitempty"` // every core's busy time ÷ requests (load generator, database included)
	LoadCPUus    float64            `json:"loadgen_cpu_us_per_op,omitempty"` // wrk's CPU time ÷ requests
	PeakRSSMB    float64            `json:"peak_rss_mb,omitempty"`           // the server's highest VmRSS during the run
	Errors       int64              `json:"errors,omitempty"`                // non-2xx answers and socket errors
	Extra        map[string]float64 `json:"extra,omitempty"`
}

// Result is one figure: its runs and their median.
type Result struct {
	ID     string    `json:"id"`
	What   string    `json:"what"`
	Median Measure   `json:"median"`
	Runs   []Measure `json:"runs"`
}

// finish computes the medians.
func (r *Result) finish() *Result {
	f := func(get func(Measure) float64) float64 {
		v := make([]float64, len(r.Runs))
		for i, m := range r.Runs {
			v[i] = get(m)
		}
		return median(v)
	}
	r.Median = Measure{
		Ops:          int64(f(func(m Measure) float64 { return float64(m.Ops) })),
		RPS:          f(func(m Measure) float64 { return m.RPS }),
		P50ms:        f(func(m Measure) float64 { return m.P50ms }),
		P99ms:        f(func(m Measure) float64 { return m.P99ms }),
		ServerCPUus:  f(func(m Measure) float64 { return m.ServerCPUus }),
		MachineCPUus: f(func(m Measure) float64 { return m.MachineCPUus }),
		LoadCPUus:    f(func(m Measure) float64 { return m.LoadCPUus }),
		PeakRSSMB:    f(func(m Measure) float64 { return m.PeakRSSMB }),
		Errors:       int64(f(func(m Measure) float64 { return float64(m.Errors) })),
	}
	for _, m := range r.Runs {
		for k := range m.Extra {
			if r.Median.Extra == nil {
				r.Median.Extra = map[string]float64{}
			}
			r.Median.Extra[k] = f(func(m Measure) float64 { return m.Extra[k] })
		}
	}
	return r
}

// median of v (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchLine is one result line of go test -bench.
type benchLine struct {
	name    string // without the -GOMAXPROCS suffix
	n       int64
	metrics map[string]float64 // unit → value
}

func parseBench(out string) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		l := benchLine{name: name, n: n, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				l.metrics[f[i+1]] = v
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// Goal is one target of the performance issue, checked against this run.
type Goal struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // ">=", "<=" or "<"
	Target float64 `json:"target"`
	Unit   string  `json:"unit"`
	Met    bool    `json:"met"`
	Detail string  `json:"detail"`
}

// Score is the value relative to the target, ≥ 1 when the goal is met
// (the length of the goal's bar in the chart).
func (g Goal) Score() float64 {
	if g.Op == ">=" {
		return g.Value / g.Target
	}
	if g.Value == 0 {
		return 10
	}
	return g.Target / g.Value
}

// Report is everything a run produced.
type Report struct {
	Command  string    `json:"command"`
	Commit   string    `json:"commit,omitempty"` // the tree measured (git describe, at build time)
	Before   string    `json:"before,omitempty"` // -before's revision as given
	BeforeAt string    `json:"before_commit,omitempty"`
	Date     string    `json:"date"`
	Machine  string    `json:"machine"`
	Go       string    `json:"go"`
	Elapsed  string    `json:"elapsed"`
	Settings string    `json:"settings"`
	Goals    []Goal    `json:"goals"`
	Ratios   []Ratio   `json:"ratios,omitempty"`
	Results  []*Result `json:"results"`
	Notes    []string  `json:"notes,omitempty"`
}

func (h *harness) report() *Report {
	cmd := "go run ./bench"
	if len(os.Args) > 1 {
		cmd += " " + strings.Join(os.Args[1:], " ")
	}
	rep := &Report{
		Command: cmd, Commit: h.commit, Before: h.o.before, BeforeAt: h.prevRev, Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Machine: machine(), Go: runtime.Version(),
		Elapsed: time.Since(h.started).Round(time.Second).String(), Results: h.results, Notes: h.notes,
		Settings: fmt.Sprintf("%d runs of %s each (median); wrk -t%d -c%d on loopback; %d distinct tokens%s", h.o.runs, h.o.duration, h.o.threads, h.o.conns, h.o.tokens, gogcSetting(h.o.gogc)),
	}
	rep.Goals, rep.Ratios = goals(h.results), ratios(h.results)
	return rep
}

// gogcSetting describes -gogc for the settings line.
func gogcSetting(gogc string) string {
	if gogc == "" {
		return ""
	}
	return "; Gatehouse at GOGC=" + gogc
}

// machine describes the CPU and core count.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

// goals checks the targets against the results present.
func goals(rs []*Result) []Goal {
	by := map[string]*Result{}
	for _, r := range rs {
		by[r.ID] = r
	}
	var gs []Goal
	add := func(name string, v float64, op string, target float64, unit, detail string) {
		met := map[string]bool{">=": v >= target, "<=": v <= target, "<": v < target}[op]
		gs = append(gs, Goal{Name: name, Value: v, Op: op, Target: target, Unit: unit, Met: met, Detail: detail})
	}
	ratio := func(name, a, b string, op string, target float64) {
		ra, rb := by[a], by[b]
		if ra == nil || rb == nil || rb.Median.RPS == 0 {
			return
		}
		v, detail := pairedRatio(ra, rb)
		add(name, v, op, target, "×", detail)
	}
	extra := func(name, id, key string, op string, target float64, unit string) {
		if r := by[id]; r != nil {
			if v, ok := r.Median.Extra[key]; ok {
				add(name, v, op, target, unit, id+" "+key)
			}
		}
	}
	for _, b := range []string{"sqlite", "postgres"} {
		l := backendLabel(b)
		ratio("GET /me, one token ÷ bare net/http ("+l+")", b+"/me-one", "baseline/bare@"+b, ">=", 0.85)
		ratio("GET /me, distinct tokens ÷ bare net/http, same tokens ("+l+")", b+"/me-10k", "baseline/bare-10k@"+b, ">=", 0.85)
		ratio("GET /me ÷ the tutorial app's GET /me ("+l+")", b+"/me-one", "reference/me", ">=", 10)
		ratio("login ÷ raw argon2id rate, same parameters ("+l+")", b+"/login", "baseline/hash@"+b, ">=", 0.9)
		ratio("refresh ÷ its fair baseline: SQL + audit row + one signature, run directly ("+l+")", b+"/refresh", "baseline/sql@"+b, ">=", 0.6)
		if r := by[b+"/flood"]; r != nil {
			add("reads during a 4× login flood: p99 ("+l+")", r.Median.P99ms, "<=", 50, "ms",
				fmt.Sprintf("%.0f reads/s", r.Median.RPS))
			extra("excess logins refused: p99 ("+l+")", b+"/flood", "refused_p99_ms", "<", 10, "ms")
		}
		if r := by[b+"/login-mfa"]; r != nil {
			add("second login step (recovery code) per second ("+l+")", r.Median.RPS, ">=", 1000, "/s",
				fmt.Sprintf("%d calls a run, p50 %.2f ms, p99 %.2f ms", r.Median.Ops, r.Median.P50ms, r.Median.P99ms))
			add("second login step: server CPU per call ("+l+")", r.Median.ServerCPUus, "<", 1000, "µs", "the server's CPU time ÷ calls, median of runs")
		}
		extra("a provider sign-in, Gatehouse's time ("+l+")", b+"/provider-signin", "gatehouse_ms", "<", 5, "ms")
		extra("idle RSS ("+l+")", b+"/start", "idle_rss_mb", "<=", 25, "MB")
		for _, side := range []string{"known", "unknown"} {
			if r := by[b+"/forgot-"+side]; r != nil {
				add(fmt.Sprintf("POST /auth/password/forgot at %d/s, %s address: p99 (%s)", forgotRate, side, l), r.Median.P99ms, "<", 5, "ms",
					fmt.Sprintf("p50 %.2f ms, max %.2f ms", r.Median.P50ms, r.Median.Extra["max_ms"]))
			}
		}
		if r := by[b+"/outbox-send"]; r != nil {
			add("outbox delivery rate ("+l+")", r.Median.RPS, ">=", 200, "/s", fmt.Sprintf("%d messages from spawn to the last one taken", r.Median.Ops))
			var dups float64
			for _, m := range r.Runs {
				dups += m.Extra["duplicates"]
			}
			add("outbox: messages delivered twice ("+l+")", dups, "<=", 0, "messages", fmt.Sprintf("by Message-ID, all %d runs", len(r.Runs)))
		}
		ratio("GET /me during an outbox backlog ÷ with an empty outbox ("+l+")", b+"/me-backlog", "baseline/me-no-backlog@"+b, ">=", 0.95)
		if r := by[b+"/mixed"]; r != nil {
			add("RSS under mixed load ("+l+")", r.Median.PeakRSSMB, "<=", 80, "MB", "highest VmRSS in a run, median of runs")
		}
	}
	for _, b := range []string{"sqlite", "postgres"} {
		l := backendLabel(b)
		ratio("GET /me, one token, after ÷ before ("+l+")", b+"/me-one", "before/"+b+"/me-one", ">=", 0.95)
		ratio("GET /me, distinct tokens, after ÷ before ("+l+")", b+"/me-10k", "before/"+b+"/me-10k", ">=", 0.95)
	}
	if r := by["postgres/refresh"]; r != nil {
		add("refreshes per second (PostgreSQL + Redis)", r.Median.RPS, ">=", 1000, "/s", "")
	}
	extra("start to ready (SQLite)", "sqlite/start", "start_ms", "<=", 200, "ms")
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		extra("Verify ÷ raw primitive, "+alg, "micro/verify-"+alg, "ratio", "<=", 1.2, "×")
	}
	extra("Verify ÷ raw primitive, HS256", "micro/verify-HS256", "ratio", "<=", 2, "×")
	extra("cached Verify", "micro/verify-VerifyCached", "ns_per_op", "<=", 1000, "ns")
	extra("cached Verify allocations", "micro/verify-VerifyCached", "allocs_per_op", "<=", 0, "allocs")
	extra("1 000 000 revoked token ids", "micro/revocation-1M", "mib_held", "<=", 150, "MiB")
	return gs
}

// Ratio is a comparison of two figures of the run that the report shows
// without a target.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Detail string  `json:"detail"`
}

// ratios computes the comparisons without a target of the results
// present.
func ratios(rs []*Result) []Ratio {
	by := map[string]*Result{}
	for _, r := range rs {
		by[r.ID] = r
	}
	var out []Ratio
	for _, b := range []string{"sqlite", "postgres"} {
		l := backendLabel(b)
		if d, bare := by["baseline/dressed@"+b], by["baseline/bare@"+b]; d != nil && bare != nil && bare.Median.RPS > 0 {
			v, detail := pairedRatio(d, bare)
			out = append(out, Ratio{Name: "bare with Gatehouse's headers and serve's timeouts ÷ bare: the most any handler with them reaches (" + l + ")", Value: v, Detail: detail})
		}
		if g, d := by[b+"/me-one"], by["baseline/dressed@"+b]; g != nil && d != nil && d.Median.RPS > 0 {
			v, detail := pairedRatio(g, d)
			out = append(out, Ratio{Name: "GET /me, one token ÷ bare with Gatehouse's headers and serve's timeouts (" + l + ")", Value: v, Detail: detail})
		}
		if g, raw := by[b+"/refresh"], by["baseline/sql-only@"+b]; g != nil && raw != nil && raw.Median.RPS > 0 {
			v, detail := pairedRatio(g, raw)
			out = append(out, Ratio{Name: "refresh ÷ its SQL alone, run directly (" + l + ")", Value: v, Detail: detail})
		}
		if k, u := by[b+"/forgot-known"], by[b+"/forgot-unknown"]; k != nil && u != nil && u.Median.P50ms > 0 {
			out = append(out, Ratio{Name: "POST /auth/password/forgot p50, known ÷ unknown address (" + l + ")",
				Value: k.Median.P50ms / u.Median.P50ms, Detail: fmt.Sprintf("%.3f ms ÷ %.3f ms, medians of runs alternating", k.Median.P50ms, u.Median.P50ms)})
		}
		if g, raw := by[b+"/outbox-send"], by["baseline/raw-smtp@"+b]; g != nil && raw != nil && raw.Median.RPS > 0 {
			v, detail := pairedRatio(g, raw)
			out = append(out, Ratio{Name: "outbox delivery ÷ a plain go-mail loop to the same sink (" + l + ")", Value: v, Detail: detail})
		}
	}
	instr := func(id string) float64 {
		if r := by["instr/"+id]; r != nil {
			return r.Median.Extra["instructions_per_op"]
		}
		return 0
	}
	for _, mode := range []string{"handler", "server"} {
		bare, me := instr("bare-"+mode), instr("me-"+mode)
		if bare > 0 && me > 0 {
			out = append(out, Ratio{Name: "instructions per request: bare ÷ GET /me, " + mode + " (callgrind, SQLite)", Value: bare / me,
				Detail: fmt.Sprintf("%.0f ÷ %.0f instructions", bare, me)})
		}
	}
	if bare, dressed, me := instr("bare-server"), instr("dressed-server"), instr("me-server"); bare > 0 && dressed > 0 {
		out = append(out, Ratio{Name: "instructions per request: bare ÷ bare with Gatehouse's headers and serve's timeouts, server (callgrind, SQLite)", Value: bare / dressed,
			Detail: fmt.Sprintf("%.0f ÷ %.0f instructions", bare, dressed)})
		if me > 0 {
			out = append(out, Ratio{Name: "instructions per request: bare with Gatehouse's headers and serve's timeouts ÷ GET /me, server (callgrind, SQLite)", Value: dressed / me,
				Detail: fmt.Sprintf("%.0f ÷ %.0f instructions", dressed, me)})
		}
	}
	for _, c := range []struct{ id, name string }{{"refresh-server", "a refresh"}, {"mfa-server", "a second-factor step"}} {
		if bare, v := instr("bare-server"), instr(c.id); bare > 0 && v > 0 {
			out = append(out, Ratio{Name: "instructions per request: bare ÷ " + c.name + ", server (callgrind, SQLite)", Value: bare / v,
				Detail: fmt.Sprintf("%.0f ÷ %.0f instructions", bare, v)})
		}
	}
	return out
}

// BeforeAfter is a figure of the current tree against the same figure of
// -before's gatehouse, measured in the same run.
type BeforeAfter struct {
	ID            string
	Before, After float64 // medians, per second
	Ratio         float64 // after ÷ before, median of paired runs
	Low, High     float64 // the lowest and highest paired ratio
	Detail        string
}

// beforeAfter pairs every before/ID result with ID's, in results order.
func beforeAfter(rs []*Result) []BeforeAfter {
	by := map[string]*Result{}
	for _, r := range rs {
		by[r.ID] = r
	}
	var out []BeforeAfter
	for _, r := range rs {
		cur, ok := strings.CutPrefix(r.ID, "before/")
		a := by[cur]
		if !ok || a == nil || r.Median.RPS == 0 {
			continue
		}
		v, detail := pairedRatio(a, r)
		row := BeforeAfter{ID: cur, Before: r.Median.RPS, After: a.Median.RPS, Ratio: v, Low: v, High: v, Detail: detail}
		if len(a.Runs) == len(r.Runs) {
			for i := range a.Runs {
				if r.Runs[i].RPS > 0 {
					q := a.Runs[i].RPS / r.Runs[i].RPS
					row.Low, row.High = min(row.Low, q), max(row.High, q)
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// pairedRatio compares a figure with its baseline. When their runs
// alternated (as many runs of each), it is the median of the ratios of
// each pair of runs, which cancels the drift of a shared machine between
// pairs; otherwise the ratio of the medians.
func pairedRatio(a, b *Result) (float64, string) {
	if len(a.Runs) != len(b.Runs) || len(a.Runs) < 2 {
		return a.Median.RPS / b.Median.RPS, fmt.Sprintf("%.0f/s ÷ %.0f/s", a.Median.RPS, b.Median.RPS)
	}
	rs := make([]float64, len(a.Runs))
	parts := make([]string, len(a.Runs))
	for i := range a.Runs {
		if b.Runs[i].RPS > 0 {
			rs[i] = a.Runs[i].RPS / b.Runs[i].RPS
		}
		parts[i] = fmt.Sprintf("%.0f÷%.0f", a.Runs[i].RPS, b.Runs[i].RPS)
	}
	return median(rs), "median of runs paired with the baseline's: " + strings.Join(parts, ", ") + " /s"
}

func printSummary(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n== goals (%s) ==\n", rep.Settings)
	for _, g := range rep.Goals {
		fmt.Fprintf(w, "  %-4s %-58s %10s  (goal %s %s)  %s\n", mark(g.Met), g.Name, fmtVal(g.Value, g.Unit), g.Op, fmtVal(g.Target, g.Unit), g.Detail)
	}
	for _, r := range rep.Ratios {
		fmt.Fprintf(w, "  %-4s %-58s %10s  %s\n", "", r.Name, fmtVal(r.Value, "×"), r.Detail)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

func mark(met bool) string {
	if met {
		return "MET"
	}
	return "MISS"
}

func fmtVal(v float64, unit string) string {
	switch {
	case unit == "×" && v < 10:
		return fmt.Sprintf("%.3f×", v)
	case unit == "×":
		return fmt.Sprintf("%.1f×", v)
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// writeOutputs writes bench/results.json, bench/chart.svg and the
// generated section of BENCHMARKS.md.
func writeOutputs(root string, rep *Report) error {
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bench", "results.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bench", "chart.svg"), []byte(chartSVG(rep)), 0o644); err != nil {
		return err
	}
	path := filepath.Join(root, "BENCHMARKS.md")
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(spliceSection(string(old), markdown(rep))), 0o644)
}

// The generated part of BENCHMARKS.md lies between these markers.
const (
	beginMarker = "<!-- bench:begin (generated by go run ./bench; edits between the markers are overwritten) -->"
	endMarker   = "<!-- bench:end -->"
)

// spliceSection replaces the text between the markers, or inserts it
// after the document's first paragraph after the title.
func spliceSection(doc, section string) string {
	block := beginMarker + "\n" + section + endMarker + "\n"
	if i := strings.Index(doc, beginMarker); i >= 0 {
		if j := strings.Index(doc[i:], endMarker); j >= 0 {
			rest := strings.TrimPrefix(doc[i+j+len(endMarker):], "\n")
			return doc[:i] + block + rest
		}
	}
	at := strings.Index(doc, "\n## ")
	if at < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + block
	}
	return doc[:at+1] + block + "\n" + doc[at+1:]
}

// gitRevision names the commit measured, with "+dirty" when the work tree
// has changes.
func gitRevision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty=+dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
