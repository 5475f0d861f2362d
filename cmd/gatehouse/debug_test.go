package main

import (
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The profiles listener must not show the command line: flags such as
// --database-url may carry a password.
func TestDebugListenerHidesCommandLine(t *testing.T) {
	secret := "--database-url=postgres://gatehouse:hunter2@db/gatehouse"
	old := os.Args
	os.Args = append(append([]string(nil), old...), secret)
	t.Cleanup(func() { os.Args = old })
	h := debugHandler()
	for _, path := range []string{"/debug/pprof/cmdline", "/debug/pprof/cmdline?debug=1", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if strings.Contains(w.Body.String(), "hunter2") {
			t.Fatalf("%s shows the command line: %d %q", path, w.Code, w.Body)
		}
		if strings.HasPrefix(path, "/debug/pprof/cmdline") && w.Code != 404 {
			t.Fatalf("%s: %d, want 404", path, w.Code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/debug/pprof/heap?debug=1", nil))
	if w.Code != 200 {
		t.Fatalf("heap profile: %d", w.Code)
	}
}

// TestHeapProfilingOnlyWithTheDebugListener: allocations are sampled for
// the heap profile only when the debug listener can serve it.
func TestHeapProfilingOnlyWithTheDebugListener(t *testing.T) {
	if got := heapProfileRate(config.Config{DebugAddr: "127.0.0.1:6060"}); got != runtime.MemProfileRate {
		t.Errorf("with a debug listener the rate is %d, want the runtime's %d", got, runtime.MemProfileRate)
	}
	if got := heapProfileRate(config.Config{}); got != 0 {
		t.Errorf("without a debug listener the rate is %d, want 0", got)
	}
}
