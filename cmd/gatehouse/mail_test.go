package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestMailList(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("", "migrate")
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, c.env["GATEHOUSE_DATABASE_URL"], sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "https://id.example.com/reset-password#token=SECRETTOKEN"
	for i := range 5 {
		m := auth.Mail{
			ID: fmt.Sprintf("0190f000-0000-7000-8000-00000000000%d", i), MessageID: fmt.Sprintf("m%d@example.com", i),
			Kind: auth.MailReset, To: fmt.Sprintf("user%d@example.org", i), Subject: "Reset your password SUBJECT",
			Text: "Open " + secret + "\n", HTML: `<a href="` + secret + `">reset</a>`,
		}
		if err := st.EnqueueMail(ctx, m, auth.Effects{}); err != nil {
			t.Fatalf("EnqueueMail: %v", err)
		}
	}
	// One sent, one failed.
	claimed, err := st.ClaimMail(ctx, time.Now().Add(time.Second), time.Minute, 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimMail: %d, %v", len(claimed), err)
	}
	if err := st.MarkMailSent(ctx, claimed[0].ID, claimed[0].Lease, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.FailMail(ctx, claimed[1].ID, claimed[1].Lease, "permanent: 550 mailbox unavailable", time.Now(), auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := c.ok("", "mail", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST ERROR") {
		t.Fatalf("mail list:\n%s", out)
	}
	if !strings.Contains(out, "u***@example.org") || strings.Contains(out, "user1@example.org") {
		t.Errorf("recipients are not hidden:\n%s", out)
	}
	if !strings.Contains(out, "550 mailbox unavailable") || !strings.Contains(out, "sent") || !strings.Contains(out, "pending") {
		t.Errorf("states or errors missing:\n%s", out)
	}
	// Newest first.
	if !strings.HasPrefix(lines[1], "0190f000-0000-7000-8000-000000000004") {
		t.Errorf("first row %q, want the newest", lines[1])
	}

	if out = c.ok("", "mail", "list", "--state", "failed"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "failed") {
		t.Errorf("--state failed:\n%s", out)
	}
	if out = c.ok("", "mail", "list", "--state", "pending", "--limit", "2"); strings.Count(out, "\n") != 3 {
		t.Errorf("--limit 2:\n%s", out)
	}

	out = c.ok("", "mail", "list", "--json", "--state", "sent")
	var row map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &row); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if row["state"] != "sent" || row["kind"] != "reset" || row["sent_at"] == nil || row["next_attempt_at"] != nil || !strings.HasSuffix(row["to"].(string), "***@example.org") {
		t.Errorf("--json row %v", row)
	}

	for _, args := range [][]string{{"mail", "list"}, {"mail", "list", "--json"}} {
		if out := c.ok("", args...); strings.Contains(out, "SECRETTOKEN") || strings.Contains(out, "SUBJECT") {
			t.Errorf("%v shows a subject or a body:\n%s", args, out)
		}
	}
	if code, _, errs := c.run("", "mail", "list", "--state", "queued"); code != 1 || !strings.Contains(errs, "pending, sent or failed") {
		t.Errorf("bad --state: exit %d %q", code, errs)
	}
	for _, args := range [][]string{{"mail", "--help"}, {"mail", "list", "--help"}} {
		if code, _, errs := c.run("", args...); code != 0 || !strings.Contains(errs, "Usage: gatehouse mail") {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
	}
	if code, _, _ := c.run("", "mail", "send"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	if code, _, _ := c.run("", "mail"); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
}
