package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux platform Go supports).
const clockTick = 10 * time.Millisecond

// children holds every process the harness started, so that all of them
// are stopped on exit, however the harness exits.
var children struct {
	sync.Mutex
	procs []*exec.Cmd
}

// startProc starts cmd in a process group of its own, output to logPath.
func startProc(cmd *exec.Cmd, logPath string) error {
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	children.Lock()
	children.procs = append(children.procs, cmd)
	children.Unlock()
	go func() { cmd.Wait(); out.Close() }()
	return nil
}

// stopProc ends cmd's process group: SIGTERM, then SIGKILL after 5 s.
func stopProc(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// stopAll stops every process the harness started.
func stopAll() {
	children.Lock()
	procs := children.procs
	children.procs = nil
	children.Unlock()
	for _, c := range procs {
		stopProc(c)
	}
}

// freeAddr returns a loopback address with a free port.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("no free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls url until it answers 200 and returns how long that took
// since start; it gives up after limit.
func waitReady(url string, start time.Time, limit time.Duration, exited func() bool) (time.Duration, error) {
	c := &http.Client{Timeout: time.Second}
	for time.Since(start) < limit {
		if res, err := c.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		if exited() {
			return 0, fmt.Errorf("the process exited before %s answered", url)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s", url, limit)
}

// procCPU returns the user+system CPU time pid has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3,
	// utime 14 and stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// procMem returns VmRSS and VmHWM of pid in bytes.
func procMem(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// machineCPU returns the busy CPU time of the whole machine, all cores.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

// selfCPU returns the CPU time the harness process itself has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageCPU returns the CPU time of an exited child.
func rusageCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

// memSampler records the highest VmRSS of pid until stopped.
type memSampler struct {
	stop chan struct{}
	done chan int64
}

func sampleMem(pid int) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _ := procMem(pid); rss > peak {
				peak = rss
			}
			select {
			case <-m.stop:
				m.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Peak stops the sampler and returns the highest RSS seen.
func (m *memSampler) Peak() int64 {
	close(m.stop)
	return <-m.done
}
