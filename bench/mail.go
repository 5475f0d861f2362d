package main

import (
	"context"
	"database/sql"
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

	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"

	_ "modernc.org/sqlite"
)

// The email figures' settings.
const (
	forgotRate    = 200    // POST /auth/password/forgot per second, open loop
	outboxBacklog = 10_000 // pending messages of outbox-send and me-backlog
	senderWorkers = 8      // the outbox sender's parallel sends (outbox.Config.Workers' default)
	knownAddress  = "alice@example.com"
)

// The small notice every seeded message is, and the raw-SMTP baseline
// sends.
const (
	noticeSubject = "Your password was changed"
	noticeText    = "Hello,\n\nthe password of your account was just changed. If it was not you, reset it now and tell us.\n\n-- Gatehouse\n"
)

// mail measures the email flows on backend b: password-reset requests at
// a fixed rate, and on SQLite the outbox's delivery rate and GET /me
// while it drains a backlog. Every gatehouse here delivers to the SMTP
// sink in this process.
func (h *harness) mail(b string) {
	ids := []string{b + "/forgot-known", b + "/forgot-unknown", b + "/outbox-send", b + "/me-backlog"}
	if !slices.ContainsFunc(ids, h.wants) {
		return
	}
	fmt.Printf("\n== email flows on %s (SMTP sink in this process) ==\n", backendLabel(b))
	logf, err := os.Create(filepath.Join(h.tmp, b+"-sink.log"))
	if err != nil {
		fail("%v", err)
	}
	defer logf.Close()
	sk, err := startSink(logf)
	if err != nil {
		fail("%v", err)
	}
	defer sk.close()
	h.forgot(b, sk)
	if b != "sqlite" {
		return // seeding the outbox writes the SQLite file directly
	}
	h.interleave(h.outboxSendJob(b, sk), h.rawSMTPJob(b, sk))
	h.meBacklog(b, sk)
}

// forgot measures POST /auth/password/forgot at forgotRate for a known
// and for unknown addresses, runs alternating, on one gatehouse whose
// sender resolves the requests (and sends the known address's links)
// meanwhile, as in production.
func (h *harness) forgot(b string, sk *sink) {
	known, unknown := b+"/forgot-known", b+"/forgot-unknown"
	if !h.wants(known) && !h.wants(unknown) {
		return
	}
	t, _ := h.startServer(h.bin, b, b+"-forgot", "GATEHOUSE_SMTP_URL="+sk.url())
	defer stopProc(t.cmd)
	h.addAccount(t, "alice", benchPassword, knownAddress)
	db, err := openDB(t)
	if err != nil {
		fail("%v", err)
	}
	defer db.Close()
	var nobody atomic.Int64
	what := fmt.Sprintf("POST /auth/password/forgot at %d/s (open loop, latency from each request's due time), %%s; the sender resolves the requests meanwhile", forgotRate)
	h.interleave(
		h.forgotJob(t, db, sk, known, fmt.Sprintf(what, knownAddress+" (a reset link is sent to the sink for each)"), true,
			func(int) string { return `{"email":"` + knownAddress + `"}` }),
		h.forgotJob(t, db, sk, unknown, fmt.Sprintf(what, "nobody-N@example.com, a new unknown address each (nothing sent)"), false,
			func(int) string { return fmt.Sprintf(`{"email":"nobody-%d@example.com"}`, nobody.Add(1)) }),
	)
}

// forgotJob is one figure of forgot: each run sends the open-loop load,
// then waits until the outbox has nothing pending and checks what the sink
// took: one message per request for the known address, none otherwise.
func (h *harness) forgotJob(t *target, db *sql.DB, sk *sink, id, what string, known bool, body func(int) string) job {
	return job{id: id, what: what, show: []string{"max_ms", "mails_sent", "drain_ms", "due_lag_p99_ms", "harness_cpu_pct"}, run: func(int) (Measure, error) {
		sk.reset(0)
		probe, self0 := startProbe(t.pid()), selfCPU()
		r := openLoad{method: "POST", url: t.base + "/auth/password/forgot", body: body, want: 202,
			rate: forgotRate, d: h.o.duration, conns: h.o.conns}.run()
		p, self := probe.end(), selfCPU()-self0
		drain, err := waitDrained(db, time.Minute)
		if err != nil {
			return Measure{}, fmt.Errorf("%v\n%s", err, tail(t.log))
		}
		c := sk.counts()
		want := 0
		if known {
			want = int(r.ok)
		}
		if c.messages != want || c.duplicates != 0 {
			return Measure{}, fmt.Errorf("the SMTP sink took %d messages (%d duplicates) after %d requests answered 202, want %d: with the per-address limits off, a link for each request for a known address and nothing for the others\n%s",
				c.messages, c.duplicates, r.ok, want, tail(t.log))
		}
		n := float64(max(r.sent, 1))
		return Measure{
			Ops: r.ok, RPS: float64(r.ok) / r.elapsed.Seconds(), P50ms: pct(r.lat, 0.50), P99ms: pct(r.lat, 0.99),
			ServerCPUus: us(p.cpu) / n, MachineCPUus: us(p.machine) / n, PeakRSSMB: mb(p.peak), Errors: r.other,
			Extra: map[string]float64{"max_ms": pct(r.lat, 1), "mails_sent": float64(c.messages), "drain_ms": ms(drain),
				"due_lag_p99_ms": pct(r.lag, 0.99), "harness_cpu_pct": 100 * self.Seconds() / r.elapsed.Seconds()},
		}, nil
	}}
}

// waitDrained waits until db's outbox has no pending message (a reset
// request is replaced by its link in one transaction, and a message stays
// pending until its delivery is recorded) and returns how long that took.
func waitDrained(db *sql.DB, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := countMail(db, "pending")
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("the outbox still had %d pending messages %s after the load", n, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countMail(db *sql.DB, state string) (int, error) {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE state = $1`, state).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s mail: %w", state, err)
	}
	return n, nil
}

// openDB opens t's database from this process; with SQLite, the server's
// file, which WAL lets it read beside the server.
func openDB(t *target) (*sql.DB, error) {
	var u string
	for _, kv := range t.env {
		if v, ok := strings.CutPrefix(kv, "GATEHOUSE_DATABASE_URL="); ok {
			u = v
		}
	}
	if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
		return openSQLite(path)
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(u), err)
	}
	return db, nil
}

func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// outboxSendJob measures delivery: a fresh SQLite database (gatehouse
// migrate) with outboxBacklog pending notices written into it directly,
// then `gatehouse serve`, timed from its spawn until the sink has every
// message.
func (h *harness) outboxSendJob(b string, sk *sink) job {
	id := b + "/outbox-send"
	return job{id: id, show: []string{"seconds", "duplicates", "not_marked_sent"},
		what: fmt.Sprintf("the outbox sender uncapped (GATEHOUSE_MAIL_RATE=0; %d workers, a connection per message) delivering %d pending notices to the SMTP sink: spawn of gatehouse serve to the last message taken", senderWorkers, outboxBacklog),
		run: func(run int) (Measure, error) {
			name := fmt.Sprintf("%s-outbox-send-%d", b, run)
			path := h.migrated(name)
			if err := seedOutbox(path, outboxBacklog, name); err != nil {
				return Measure{}, err
			}
			reached := sk.reset(outboxBacklog)
			mach0 := machineCPU()
			start := time.Now()
			t, _ := h.startServer(h.bin, b, name, "GATEHOUSE_SMTP_URL="+sk.url(), "GATEHOUSE_MAIL_RATE=0")
			defer stopProc(t.cmd)
			mem := sampleMem(t.pid())
			if err := waitSink(sk, reached, 30*time.Second); err != nil {
				mem.Peak()
				return Measure{}, fmt.Errorf("%v\n%s", err, tail(t.log))
			}
			cpu, machine, peak := procCPU(t.pid()), machineCPU()-mach0, mem.Peak()
			c := sk.counts()
			stopProc(t.cmd)
			sent, err := countSent(path)
			if err != nil {
				return Measure{}, err
			}
			if sent < outboxBacklog {
				logged := grepLog(t.log, "outcome")
				if logged == "" {
					logged = "nothing (the process ended first)"
				}
				h.note("%s run %d: %d of the messages delivered were not recorded as sent when gatehouse stopped (SIGTERM just after the last delivery); its log says %s",
					id, run+1, outboxBacklog-sent, logged)
			}
			el := c.reached.Sub(start)
			n := float64(outboxBacklog)
			return Measure{Ops: outboxBacklog, RPS: n / el.Seconds(), ServerCPUus: us(cpu) / n, MachineCPUus: us(machine) / n, PeakRSSMB: mb(peak),
				Extra: map[string]float64{"seconds": el.Seconds(), "duplicates": float64(c.duplicates), "not_marked_sent": float64(outboxBacklog - sent)}}, nil
		}}
}

// countSent counts the messages a stopped server's database records as
// sent.
func countSent(path string) (int, error) {
	db, err := openSQLite(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return countMail(db, "sent")
}

// waitSink waits until reached is closed, failing when the sink takes
// nothing for stall.
func waitSink(sk *sink, reached <-chan struct{}, stall time.Duration) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, since := -1, time.Now()
	for {
		select {
		case <-reached:
			return nil
		case <-tick.C:
		}
		c := sk.counts()
		if c.messages != last {
			last, since = c.messages, time.Now()
		} else if time.Since(since) > stall {
			return fmt.Errorf("the SMTP sink took no message for %s, %d so far", stall, c.messages)
		}
	}
}

// rawSMTPJob is outbox-send's baseline: the same number of the same
// messages sent to the same sink by a plain go-mail loop in this process,
// with the sender's parallelism and, as it does, a connection per message.
func (h *harness) rawSMTPJob(b string, sk *sink) job {
	return job{id: "baseline/raw-smtp@" + b, show: []string{"seconds", "duplicates"},
		what: fmt.Sprintf("the same %d notices sent to the SMTP sink by a plain go-mail loop in this process: %d goroutines, a connection per message", outboxBacklog, senderWorkers),
		run: func(run int) (Measure, error) {
			reached := sk.reset(outboxBacklog)
			mach0 := machineCPU()
			start := time.Now()
			if err := rawSMTP(sk.addr, outboxBacklog, senderWorkers, fmt.Sprintf("raw-%s-%d", b, run)); err != nil {
				return Measure{}, err
			}
			if err := waitSink(sk, reached, 30*time.Second); err != nil {
				return Measure{}, err
			}
			c := sk.counts()
			el, n := c.reached.Sub(start), float64(outboxBacklog)
			return Measure{Ops: outboxBacklog, RPS: n / el.Seconds(), MachineCPUus: us(machineCPU()-mach0) / n,
				Extra: map[string]float64{"seconds": el.Seconds(), "duplicates": float64(c.duplicates)}}, nil
		}}
}

// rawSMTP sends n notices to the SMTP server at addr from workers
// goroutines, each message over a connection of its own, and returns the
// first failure.
func rawSMTP(addr string, n, workers int, tag string) error {
	host, portStr, _ := strings.Cut(addr, ":")
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("raw SMTP: address %q: %w", addr, err)
	}
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := sendNotice(host, port, i, tag); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// sendNotice builds and sends notice i as the server's SMTP transport
// would: its headers, a text part, a new client and connection.
func sendNotice(host string, port, i int, tag string) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From("no-reply@localhost"); err != nil {
		return fmt.Errorf("raw SMTP: %w", err)
	}
	if err := msg.To(fmt.Sprintf("user-%d@example.com", i)); err != nil {
		return fmt.Errorf("raw SMTP: %w", err)
	}
	msg.Subject(noticeSubject)
	msg.SetMessageIDWithValue(fmt.Sprintf("%s-%d@bench.invalid", tag, i))
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, noticeText)
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTimeout(10*time.Second), gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	if err != nil {
		return fmt.Errorf("raw SMTP: client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("raw SMTP: message %d: %w", i, err)
	}
	return nil
}

// migrated creates the SQLite database name with `gatehouse migrate` and
// returns its path, where startServer(…, name) will find it.
func (h *harness) migrated(name string) string {
	path := filepath.Join(h.tmp, name+".db")
	cmd := exec.Command(h.bin, "migrate")
	cmd.Env = append(cleanEnv(), "GATEHOUSE_DATABASE_URL=sqlite:"+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("gatehouse migrate: %v\n%s", err, out)
	}
	return path
}

// seedOutbox writes n pending notices into the outbox of the SQLite
// database at path, due at once, each with its own id and Message-ID
// (tag-N@bench.invalid), in one transaction.
func seedOutbox(path string, n int, tag string) (err error) {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed outbox: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO outbox (id, message_id, kind, recipient, user_id, subject, body_text, body_html,
		state, attempts, last_error, created_at, next_attempt_at, lease, lease_until)
		VALUES ($1, $2, 'notice', $3, '', $4, $5, '', 'pending', 0, '', $6, 0, '', 0)`)
	if err != nil {
		return fmt.Errorf("seed outbox: %w", err)
	}
	defer stmt.Close()
	now := time.Now().UnixMilli()
	for i := range n {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("seed outbox: %w", err)
		}
		if _, err := stmt.ExecContext(ctx, id.String(), fmt.Sprintf("%s-%d@bench.invalid", tag, i),
			fmt.Sprintf("user-%d@example.com", i), noticeSubject, noticeText, now); err != nil {
			return fmt.Errorf("seed outbox: message %d: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed outbox: %w", err)
	}
	return nil
}

// meBacklog measures GET /me (as me-one: one token, -c connections) on a
// gatehouse whose outbox is draining a backlog of outboxBacklog messages
// or more, the
// measurement starting as soon as /readyz answers, alternating with the
// same on a gatehouse with an empty outbox. Both start, each run, from a
// copy of one template database (keys, the bench user, the token's
// session), so that the token is ready before the server starts.
func (h *harness) meBacklog(b string, sk *sink) {
	id, idle := b+"/me-backlog", "baseline/me-no-backlog@"+b
	if !h.wants(id) && !h.wants(idle) {
		return
	}
	// The issuer is fixed: by default it is the listen address, which
	// differs from server to server, and the token must pass on each.
	env := []string{"GATEHOUSE_SMTP_URL=" + sk.url(), "GATEHOUSE_ISSUER=http://gatehouse.bench"}
	tpl, _ := h.startServer(h.bin, b, b+"-backlog-template", env...)
	h.addUser(tpl)
	tok := h.writeLines(b+"-backlog.tok", []string{mustLogin(tpl.base, loginBody).Access})
	stopProc(tpl.cmd)
	template := filepath.Join(h.tmp, b+"-backlog-template.db")
	run := func(backlog int) func(int) (Measure, error) {
		return func(run int) (Measure, error) {
			name := fmt.Sprintf("%s-me-backlog-%d-%d", b, backlog, run)
			path := filepath.Join(h.tmp, name+".db")
			if err := copySQLite(template, path); err != nil {
				return Measure{}, err
			}
			if err := seedOutbox(path, backlog, name); err != nil {
				return Measure{}, err
			}
			sk.reset(0)
			t, _ := h.startServer(h.bin, b, name, env...)
			defer stopProc(t.cmd)
			self0, start := selfCPU(), time.Now()
			m, err := h.measureWrk(t, load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": tok}})
			if err != nil {
				return m, fmt.Errorf("%v\n%s", err, tail(t.log))
			}
			c, self, el := sk.counts(), selfCPU()-self0, time.Since(start)
			stopProc(t.cmd)
			if backlog > 0 && c.messages >= backlog {
				return m, fmt.Errorf("the backlog of %d messages drained before the run ended: the figure would not be under a backlog throughout", backlog)
			}
			m.Extra = map[string]float64{"backlog": float64(backlog), "mails_sent": float64(c.messages), "left_at_end": float64(backlog - c.messages),
				"harness_cpu_pct": 100 * self.Seconds() / el.Seconds()}
			return m, nil
		}
	}
	// Under this load the sender drains well under 2 000 messages a second
	// on 2 cores (idle, about 2 700): a longer -duration gets a bigger
	// backlog, so that it is still draining when the run ends (a run fails
	// if not).
	backlog := max(outboxBacklog, 2000*int(h.o.duration.Seconds()))
	what := "GET /me, one access token reused, %s (server started from a copy of one database each run, measured from /readyz on)"
	h.interleave(
		job{id: id, what: fmt.Sprintf(what, fmt.Sprintf("while the outbox sends a backlog of %d notices to the SMTP sink", backlog)),
			show: []string{"mails_sent", "left_at_end", "harness_cpu_pct"}, run: run(backlog)},
		job{id: idle, what: fmt.Sprintf(what, "same config, empty outbox"), show: []string{"harness_cpu_pct"}, run: run(0)},
	)
}

// copySQLite writes a consistent copy of the SQLite database src to dst.
func copySQLite(src, dst string) error {
	db, err := openSQLite(src)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`VACUUM INTO $1`, dst); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	// It holds keys and password hashes: gatehouse refuses a file that
	// others may read.
	if err := os.Chmod(dst, 0o600); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// grepLog returns the first line of a JSON log file that contains s, as
// its message and error, or "".
func grepLog(path, s string) string {
	b, _ := os.ReadFile(path)
	for l := range strings.Lines(string(b)) {
		if !strings.Contains(l, s) {
			continue
		}
		var rec struct{ Msg, Step, Err string }
		if json.Unmarshal([]byte(l), &rec) != nil {
			return strings.TrimSpace(l)
		}
		return fmt.Sprintf("%q (%s: %s)", rec.Msg, rec.Step, rec.Err)
	}
	return ""
}
