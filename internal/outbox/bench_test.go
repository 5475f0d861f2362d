package outbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// BenchmarkSendSQLite: the sender's cost per message, claim to recorded
// outcome, delivering to an in-process SMTP server from an SQLite outbox
// (100 messages an iteration; ns/op ÷ 100 is per message).
func BenchmarkSendSQLite(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "outbox.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	srv := smtptest.Start(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := mail.NewSMTP(srv.URL(), "no-reply@example.com", log)
	if err != nil {
		b.Fatal(err)
	}
	c, err := mail.NewComposer(mail.Config{LinkBase: "https://id.example.com", From: "no-reply@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Store: st, Transport: tr, Log: log})
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for j := range 100 {
			m, err := c.Compose(mail.TemplatePasswordChanged, auth.MailNotice, fmt.Sprintf("u%d-%d@example.com", i, j), "", mail.Data{Username: "bob", When: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			if err := st.EnqueueMail(ctx, m, auth.Effects{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := s.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
