package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/totp"
)

// The second-step figure's settings. Each measured call needs a pending
// attempt (a password login, an argon2id hash) and an unused recovery
// code (ten a user, each enrolment a login and a password check more), so
// the calls of a run are a fixed number made beforehand, not -duration's
// worth: at the goal's 1 000/s, five seconds would need 5 000 password
// logins a run, over a minute on 2 cores.
const (
	mfaUsersPerRun  = 100 // users enrolled for each run, each giving its 10 recovery codes
	mfaCodesPerUser = 10  // recovery codes a confirmation returns (CONTRACT §6)
	mfaSetupConns   = 4   // parallel requests while preparing: 2 per hashing slot, as the login figure
	mfaAdmin        = "mfa-admin"
)

// mfaPair is one measured call's input: a pending attempt's token and an
// unused recovery code of its user.
type mfaPair struct{ token, code string }

// loginMFA measures the second login step on backend b (SQLite only: the
// figure's setup is password-bound, and one backend says what the step
// costs beside the first): POST /auth/login/mfa with a recovery code,
// calls prepared before each run by enrolling fresh users and logging
// each in once per recovery code.
func (h *harness) loginMFA(b string) {
	id := b + "/login-mfa"
	if b != "sqlite" || !h.wants(id) {
		return
	}
	fmt.Printf("\n== second login step on %s ==\n", backendLabel(b))
	t, _ := h.startServer(h.bin, b, b+"-mfa")
	defer stopProc(t.cmd)
	h.addAccount(t, mfaAdmin, benchPassword, "", "--role", "admin")
	admin := mustLogin(t.base, loginJSON(mfaAdmin, benchPassword)).Access
	n := mfaUsersPerRun * mfaCodesPerUser
	h.interleave(job{id: id,
		what: fmt.Sprintf("POST /auth/login/mfa with a recovery code, %d calls a run over %d connections, each a pending attempt of its own (made beforehand: %d users enrolled, %d password logins)",
			n, h.o.conns, mfaUsersPerRun, n),
		show: []string{"setup_s"},
		run: func(run int) (Measure, error) {
			start := time.Now()
			pairs, err := prepareMFA(t.base, admin, fmt.Sprintf("mfa-%d-", run), mfaUsersPerRun)
			if err != nil {
				return Measure{}, fmt.Errorf("%v\n%s", err, tail(t.log))
			}
			setup := time.Since(start)
			fmt.Printf("  %-22s run %d: enrolled %d users, made %d attempts in %s\n", id, run+1, mfaUsersPerRun, len(pairs), setup.Round(100*time.Millisecond))
			probe, self0 := startProbe(t.pid()), selfCPU()
			r := secondSteps(t.base, pairs, h.o.conns)
			p, self := probe.end(), selfCPU()-self0
			if r.ok != int64(len(pairs)) {
				return Measure{}, fmt.Errorf("%d of %d second steps answered 200 (other statuses: %v): each pair is a fresh attempt and an unused code\n%s",
					r.ok, len(pairs), r.statuses, tail(t.log))
			}
			calls := float64(len(pairs))
			return Measure{
				Ops: r.ok, RPS: float64(r.ok) / r.elapsed.Seconds(), P50ms: pct(r.lat, 0.50), P99ms: pct(r.lat, 0.99),
				ServerCPUus: us(p.cpu) / calls, MachineCPUus: us(p.machine) / calls, LoadCPUus: us(self) / calls,
				PeakRSSMB: mb(p.peak), Extra: map[string]float64{"setup_s": setup.Seconds(), "elapsed_ms": ms(r.elapsed)},
			}, nil
		}})
}

// loginJSON is the body of POST /auth/login.
func loginJSON(user, pass string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass}) // cannot fail
	return string(b)
}

// prepareMFA creates users prefix0…prefixN-1 through the admin API, turns
// on a second factor for each (enrol, confirm with the current TOTP code)
// and, for each of the recovery codes this returns, logs the user in with
// the password: the pending attempt and the code make one pair. Requests
// run mfaSetupConns at a time.
func prepareMFA(base, admin, prefix string, users int) ([]mfaPair, error) {
	var (
		mu    sync.Mutex
		pairs []mfaPair
		first error
		once  sync.Once
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range mfaSetupConns {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < users; i = int(next.Add(1)) - 1 {
				ps, err := enrolAndPend(base, admin, fmt.Sprintf("%s%d", prefix, i))
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				mu.Lock()
				pairs = append(pairs, ps...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return pairs, nil
}

// enrolAndPend makes one user with a second factor and one pending
// attempt per recovery code.
func enrolAndPend(base, admin, name string) ([]mfaPair, error) {
	if _, err := call(base, "POST", "/admin/users", admin, map[string]any{"username": name, "password": benchPassword, "role": "user", "is_active": true}, 201, nil); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	var pair tokenPair
	if _, err := call(base, "POST", "/auth/login", "", map[string]string{"username": name, "password": benchPassword}, 200, &pair); err != nil {
		return nil, fmt.Errorf("log %s in: %w", name, err)
	}
	var enrol struct {
		Secret string `json:"secret"`
	}
	if _, err := call(base, "POST", "/me/mfa/totp", pair.Access, map[string]string{"current_password": benchPassword}, 200, &enrol); err != nil {
		return nil, fmt.Errorf("enrol %s: %w", name, err)
	}
	secret, err := totp.Decode(enrol.Secret)
	if err != nil {
		return nil, fmt.Errorf("enrol %s: the secret %q: %w", name, enrol.Secret, err)
	}
	var conf struct {
		Codes []string `json:"recovery_codes"`
	}
	code := totp.Code(secret, totp.StepAt(time.Now()))
	if _, err := call(base, "POST", "/me/mfa/totp/confirm", pair.Access, map[string]string{"code": code}, 200, &conf); err != nil {
		return nil, fmt.Errorf("confirm %s: %w", name, err)
	}
	if len(conf.Codes) != mfaCodesPerUser {
		return nil, fmt.Errorf("confirm %s: %d recovery codes, want %d", name, len(conf.Codes), mfaCodesPerUser)
	}
	out := make([]mfaPair, 0, len(conf.Codes))
	for _, c := range conf.Codes {
		var pend struct {
			Code     string `json:"code"`
			MFAToken string `json:"mfa_token"`
		}
		if _, err := call(base, "POST", "/auth/login", "", map[string]string{"username": name, "password": benchPassword}, 401, &pend); err != nil {
			return nil, fmt.Errorf("first step of %s: %w", name, err)
		}
		if pend.Code != "mfa_required" || pend.MFAToken == "" {
			return nil, fmt.Errorf("first step of %s: 401 with code %q and no mfa_token, want mfa_required", name, pend.Code)
		}
		out = append(out, mfaPair{token: pend.MFAToken, code: c})
	}
	return out, nil
}

// call sends a JSON request (with a bearer token unless "") and decodes
// the answer into out when it has the wanted status. A 503 or 429 (the
// hashing slots are busy) is retried for up to 30 seconds.
func call(base, method, path, bearer string, body any, want int, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
		switch {
		case res.StatusCode == want:
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return res.StatusCode, fmt.Errorf("%s %s: %d %s: %w", method, path, res.StatusCode, raw, err)
				}
			}
			return res.StatusCode, nil
		case (res.StatusCode == 503 || res.StatusCode == 429) && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond)
		default:
			return res.StatusCode, fmt.Errorf("%s %s: %d %s, want %d", method, path, res.StatusCode, strings.TrimSpace(string(raw)), want)
		}
	}
}

// stepResult is what a run of second steps saw.
type stepResult struct {
	ok       int64
	statuses map[int]int64 // the other answers by status (0: no answer)
	elapsed  time.Duration
	lat      []time.Duration // of the successes, sorted
}

// secondSteps sends POST /auth/login/mfa once for each pair from conns
// workers, each with a keep-alive connection and one request in flight,
// as fast as the answers come (a closed loop, as wrk), and counts the
// answers.
func secondSteps(base string, pairs []mfaPair, conns int) stepResult {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	bodies := make([][]byte, len(pairs))
	for i, p := range pairs {
		bodies[i], _ = json.Marshal(map[string]string{"mfa_token": p.token, "code": p.code}) // cannot fail
	}
	r := stepResult{statuses: map[int]int64{}, lat: make([]time.Duration, 0, len(pairs))}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(bodies); i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				code := sendStep(c, base, bodies[i])
				lat := time.Since(t0)
				mu.Lock()
				if code == 200 {
					r.ok++
					r.lat = append(r.lat, lat)
				} else {
					r.statuses[code]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.Sort(r.lat)
	return r
}

// sendStep sends one second step and returns its status, 0 when it
// failed.
func sendStep(c *http.Client, base string, body []byte) int {
	return postJSON(c, "POST", base+"/auth/login/mfa", bytes.NewReader(body))
}
