package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/smtptest"
)

// TestOutboxSurvivesKill: a reset is asked for while the SMTP server is
// down; the server is killed with SIGKILL with the message pending; the
// SMTP server comes back and the server restarts: the message is
// delivered, once.
func TestOutboxSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	smtp := smtptest.Start(t)
	smtp.Stop()
	bin := buildBinary(t)
	env := []string{
		"GATEHOUSE_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"GATEHOUSE_SMTP_URL=" + smtp.URL(),
		"GATEHOUSE_LINK_BASE=https://id.example.test",
		"GATEHOUSE_MAIL_RETRY_MIN=1s", "GATEHOUSE_MAIL_RETRY_MAX=2s",
	}
	first := startReplica(t, bin, "first", env)
	if a := first.call("POST", "/auth/password/forgot", "", `{"email":"alice@example.com"}`); a.status != 202 {
		t.Fatalf("forgot: %d %v", a.status, a.body)
	}
	// Wait until the sender has tried and failed at least once, as
	// `gatehouse mail list` shows it.
	within(t, 10*time.Second, "a failed attempt", func() bool {
		list := exec.Command(bin, "mail", "list", "--state", "pending", "--json")
		list.Env = append(os.Environ(), env...)
		out, err := list.Output()
		return err == nil && strings.Contains(string(out), `"kind":"reset"`) && !strings.Contains(string(out), `"attempts":0`)
	})
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()

	smtp.Restart()
	second := startReplica(t, bin, "second", env)
	within(t, 15*time.Second, "the reset link delivered", func() bool { return len(smtp.Messages()) >= 1 })
	time.Sleep(3 * time.Second) // no second copy follows
	msgs := smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs))
	}
	p, err := msgs[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "https://id.example.test/reset-password#token=") {
		t.Fatalf("message without the link:\n%s", p.Text)
	}
	_ = second
}
