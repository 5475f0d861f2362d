package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// referenceApp measures the tutorial's FastAPI app (GET /me and login)
// when its Debian packages are installed, and says so when not.
func (h *harness) referenceApp() {
	if !h.wants("reference/me") && !h.wants("reference/login") {
		return
	}
	fmt.Println("\n== the tutorial's reference app (FastAPI, uvicorn, one worker) ==")
	dir := h.o.reference
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(h.root, dir)
	}
	run := filepath.Join(dir, "run.sh")
	if _, err := os.Stat(run); err != nil {
		h.note("reference app not measured: no %s", run)
		return
	}
	check := exec.Command("/usr/bin/python3", "-c", "import fastapi, jose, passlib, uvicorn, bcrypt, multipart")
	if out, err := check.CombinedOutput(); err != nil {
		h.note("reference app not measured: its Debian packages are missing (apt-get install -y python3-fastapi python3-jose python3-passlib python3-uvicorn python3-bcrypt python3-multipart): %s",
			strings.TrimSpace(lastLine(string(out))))
		return
	}
	addr := freeAddr()
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	t := &target{name: "reference", base: "http://" + addr, log: filepath.Join(h.tmp, "reference.log")}
	t.cmd = exec.Command(run, port, "--no-access-log")
	t.cmd.Env = cleanEnv()
	if err := startProc(t.cmd, t.log); err != nil {
		h.note("reference app not measured: %v", err)
		return
	}
	defer stopProc(t.cmd)
	if _, err := waitReady(t.base+"/public", time.Now(), 60*time.Second, t.exited); err != nil {
		h.note("reference app not measured: %v: %s", err, lastLine(tail(t.log)))
		return
	}
	body := `{"username":"alice","password":"secret123"}`
	code, p, err := post(t.base, "/auth/login", "", body)
	if err != nil || code != 200 {
		h.note("reference app not measured: login answered %d %v", code, err)
		return
	}
	tok := h.writeLines("reference.tok", []string{p.Access})
	h.interleave(
		h.wrkJob(t, "reference/me", "the tutorial app: GET /me, one access token reused", func(int) load {
			return load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": tok}}
		}),
		h.wrkJob(t, "reference/login", "the tutorial app: POST /auth/login (bcrypt cost 12), 4 connections", func(int) load {
			return load{script: "login", conns: 4, counted: true, env: map[string]string{"BENCH_LOGIN": body}}
		}),
	)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
