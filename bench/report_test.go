package main

import (
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkRatio/ES256-2         	    1234	    1700000 ns/op	         1.06 verify/raw	    106535 verify-ns/op	    100129 raw-ns/op
BenchmarkVerifyCached-2        	26888118	        44.6 ns/op	       0 B/op	       0 allocs/op
BenchmarkRawRefreshSQL/sqlite/parallel-2         	    9783	    116149 ns/op	    6382 B/op	     182 allocs/op
PASS`
	ls := parseBench(out)
	if len(ls) != 3 {
		t.Fatalf("got %d lines, want 3: %+v", len(ls), ls)
	}
	if ls[0].name != "BenchmarkRatio/ES256" || ls[0].metrics["verify/raw"] != 1.06 || ls[0].metrics["raw-ns/op"] != 100129 {
		t.Errorf("ratio line: %+v", ls[0])
	}
	if ls[1].name != "BenchmarkVerifyCached" || ls[1].n != 26888118 || ls[1].metrics["allocs/op"] != 0 || ls[1].metrics["ns/op"] != 44.6 {
		t.Errorf("cached line: %+v", ls[1])
	}
	if ls[2].name != "BenchmarkRawRefreshSQL/sqlite/parallel" {
		t.Errorf("name %q", ls[2].name)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestFinishTakesMediansPerField(t *testing.T) {
	r := (&Result{Runs: []Measure{
		{RPS: 10, P99ms: 9, Extra: map[string]float64{"x": 1}},
		{RPS: 30, P99ms: 1, Extra: map[string]float64{"x": 3}},
		{RPS: 20, P99ms: 5, Extra: map[string]float64{"x": 2}},
	}}).finish()
	if r.Median.RPS != 20 || r.Median.P99ms != 5 || r.Median.Extra["x"] != 2 {
		t.Errorf("median %+v", r.Median)
	}
}

func TestGoals(t *testing.T) {
	rs := []*Result{
		{ID: "sqlite/me-one", Median: Measure{RPS: 40000}},
		{ID: "baseline/bare@sqlite", Median: Measure{RPS: 45000}},
		{ID: "sqlite/start", Median: Measure{Extra: map[string]float64{"start_ms": 250, "idle_rss_mb": 20}}},
	}
	byName := map[string]Goal{}
	for _, g := range goals(rs) {
		byName[g.Name] = g
	}
	if g := byName["GET /me, one token ÷ bare net/http (SQLite)"]; !g.Met || g.Value < 0.88 || g.Value > 0.89 {
		t.Errorf("me goal %+v", g)
	}
	if g := byName["start to ready (SQLite)"]; g.Met || g.Value != 250 {
		t.Errorf("start goal %+v", g)
	}
	if g := byName["idle RSS (SQLite)"]; !g.Met {
		t.Errorf("idle goal %+v", g)
	}
	if _, ok := byName["refreshes per second (PostgreSQL + Redis)"]; ok {
		t.Error("a goal without its figures was checked")
	}
}

func TestSpliceSection(t *testing.T) {
	doc := "# Benchmarks\n\nIntro.\n\n## Old section\n\ntext\n"
	once := spliceSection(doc, "NEW 1\n")
	if !strings.Contains(once, "Intro.\n\n"+beginMarker+"\nNEW 1\n"+endMarker+"\n\n## Old section") {
		t.Fatalf("first splice:\n%s", once)
	}
	twice := spliceSection(once, "NEW 2\n")
	if strings.Contains(twice, "NEW 1") || strings.Count(twice, beginMarker) != 1 || !strings.Contains(twice, "NEW 2") || !strings.HasSuffix(twice, "## Old section\n\ntext\n") {
		t.Fatalf("second splice:\n%s", twice)
	}
}

func TestChartAndMarkdown(t *testing.T) {
	rep := &Report{Command: "go run ./bench", Goals: []Goal{
		{Name: "a <b>", Value: 0.5, Op: ">=", Target: 0.8, Unit: "×"},
		{Name: "c", Value: 20, Op: "<=", Target: 25, Unit: "MB", Met: true},
	}, Results: []*Result{{ID: "x", What: "y", Median: Measure{RPS: 12345.6, Extra: map[string]float64{"k": 1}}}}}
	svg := chartSVG(rep)
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "a &lt;b&gt;") || strings.Count(svg, "<rect") != 3 {
		t.Errorf("svg:\n%s", svg)
	}
	md := markdown(rep)
	for _, want := range []string{"| MISS | a <b> | 0.500× | >= 0.800× |", "| MET | c | 20 MB | <= 25 MB |", "12,346", "k 1.00"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "", 1234567.891: "1,234,568", 12.345: "12", -4321: "-4,321"} {
		if got := num(v, 0); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	if got := num(1234.5, 2); got != "1,234.50" {
		t.Errorf("num(1234.5, 2) = %q", got)
	}
}

func TestOptions(t *testing.T) {
	o, err := parseOptions([]string{"-quick"})
	if err != nil || o.runs != 1 || o.write {
		t.Errorf("-quick: %+v %v", o, err)
	}
	o, err = parseOptions(nil)
	if err != nil || o.runs != 3 || !o.write || !o.wants("sqlite/me-one") {
		t.Errorf("defaults: %+v %v", o, err)
	}
	o, _ = parseOptions([]string{"-only", "postgres/"})
	if o.write || o.wants("sqlite/me-one") || !o.wants("postgres/login") {
		t.Errorf("-only: %+v", o)
	}
	if _, err := parseOptions([]string{"-backends", "mysql"}); err == nil {
		t.Error("unknown backend accepted")
	}
	// A full run at another GOGC does not overwrite the default's files.
	o, err = parseOptions([]string{"-gogc", "50"})
	if err != nil || o.write || o.gogc != "50" {
		t.Errorf("-gogc 50: %+v %v", o, err)
	}
	for _, bad := range []string{"0", "-5", "fifty"} {
		if _, err := parseOptions([]string{"-gogc", bad}); err == nil {
			t.Errorf("-gogc %s accepted", bad)
		}
	}
	if o, err := parseOptions([]string{"-gogc", "off"}); err != nil || o.gogc != "off" {
		t.Errorf("-gogc off: %+v %v", o, err)
	}
}

func TestPairedRatio(t *testing.T) {
	a := (&Result{Runs: []Measure{{RPS: 50}, {RPS: 90}, {RPS: 60}}}).finish()
	b := (&Result{Runs: []Measure{{RPS: 100}, {RPS: 100}, {RPS: 60}}}).finish()
	if v, _ := pairedRatio(a, b); v != 0.9 {
		t.Errorf("paired ratio %v, want 0.9 (median of 0.5, 0.9, 1)", v)
	}
	single := (&Result{Runs: []Measure{{RPS: 80}}}).finish()
	if v, _ := pairedRatio(single, b); v != 0.8 {
		t.Errorf("unpaired ratio %v, want 80/100", v)
	}
}

func TestBeforeWanted(t *testing.T) {
	o, _ := parseOptions([]string{"-only", "sqlite/me-one$"})
	if o.wants("before/sqlite/me-one") {
		t.Error("a before figure wanted without -before")
	}
	o, _ = parseOptions([]string{"-before", "HEAD~1", "-only", "sqlite/me-one$"})
	if !o.wants("before/sqlite/me-one") || o.wants("before/sqlite/login") || o.wants("before/postgres/me-one") {
		t.Errorf("-before follows the current figure: %+v", o)
	}
}

func TestBeforeAfter(t *testing.T) {
	rs := []*Result{
		(&Result{ID: "sqlite/me-one", Runs: []Measure{{RPS: 90}, {RPS: 100}, {RPS: 50}}}).finish(),
		(&Result{ID: "before/sqlite/me-one", Runs: []Measure{{RPS: 100}, {RPS: 100}, {RPS: 50}}}).finish(),
		(&Result{ID: "sqlite/me-10k", Runs: []Measure{{RPS: 80}, {RPS: 80}, {RPS: 80}}}).finish(),
		(&Result{ID: "before/sqlite/me-10k", Runs: []Measure{{RPS: 100}, {RPS: 100}, {RPS: 100}}}).finish(),
		(&Result{ID: "before/postgres/login", Runs: []Measure{{RPS: 40}}}).finish(), // no current figure
	}
	ba := beforeAfter(rs)
	if len(ba) != 2 || ba[0].ID != "sqlite/me-one" || ba[0].Ratio != 1 || ba[0].Low != 0.9 || ba[0].High != 1 || ba[0].Before != 100 || ba[0].After != 90 {
		t.Fatalf("rows %+v", ba)
	}
	byName := map[string]Goal{}
	for _, g := range goals(rs) {
		byName[g.Name] = g
	}
	if g := byName["GET /me, one token, after ÷ before (SQLite)"]; !g.Met || g.Value != 1 {
		t.Errorf("one-token goal %+v", g)
	}
	if g := byName["GET /me, distinct tokens, after ÷ before (SQLite)"]; g.Met || g.Value != 0.8 {
		t.Errorf("distinct-token goal %+v", g)
	}
	md := markdown(&Report{Command: "go run ./bench -before v1", Before: "v1", BeforeAt: "abc1234", Results: rs})
	for _, want := range []string{"### Before and after v1 (abc1234)", "| `sqlite/me-10k` | 100 | 80 | **0.800×** | 0.800–0.800 |", "GATEHOUSE_MAX_SESSIONS_PER_USER=0"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
