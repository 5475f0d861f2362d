package mail

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
)

type recording struct{ got []auth.Mail }

func (r *recording) Send(_ context.Context, m auth.Mail) error {
	r.got = append(r.got, m)
	return nil
}

func testSealer(t *testing.T, b byte) *seal.Sealer {
	t.Helper()
	key := make([]byte, seal.KeySize)
	for i := range key {
		key[i] = b + byte(i)*7
	}
	s, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// With a Sealer, a composed message keeps neither its link nor its text
// in the clear; Unsealing opens it for the transport, bound to its own
// message: a body moved to another message does not open.
func TestSealedBodies(t *testing.T) {
	s := testSealer(t, 1)
	c, err := NewComposer(Config{LinkBase: "https://id.example.test", From: "no-reply@example.test", Sealer: s})
	if err != nil {
		t.Fatal(err)
	}
	const tok = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	m, err := c.Compose(TemplateReset, auth.MailReset, "bob@example.com", "u1", Data{Token: tok, Expires: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !Sealed(m) || strings.Contains(m.Text+m.HTML, tok) || strings.Contains(m.Text, "reset-password") || !strings.HasPrefix(m.HTML, seal.TextPrefix) {
		t.Fatalf("body in the clear: %q / %q", m.Text, m.HTML)
	}
	rec := &recording{}
	if err := Unsealing(rec, s).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := rec.got[0]; !strings.Contains(got.Text, "https://id.example.test/reset-password#token="+tok) || !strings.Contains(got.HTML, tok) {
		t.Fatalf("opened body lacks the link: %q", got.Text)
	}
	// Another message's id, no key, another key: a permanent failure.
	moved := m
	moved.ID = "01a234ab-0000-7000-8000-000000000000"
	for name, tc := range map[string]struct {
		m auth.Mail
		s Sealer
	}{"moved": {moved, s}, "no key": {m, nil}, "another key": {m, testSealer(t, 9)}} {
		err := Unsealing(rec, tc.s).Send(context.Background(), tc.m)
		if err == nil || !Permanent(err) {
			t.Errorf("%s: %v, want a permanent failure", name, err)
		}
	}
	// Without a Sealer, bodies pass through as they are.
	plain, err := NewComposer(Config{LinkBase: "https://id.example.test", From: "no-reply@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = plain.Compose(TemplateReset, auth.MailReset, "bob@example.com", "u1", Data{Token: tok, Expires: time.Minute})
	rec = &recording{}
	if err := Unsealing(rec, nil).Send(context.Background(), m); err != nil || Sealed(m) || rec.got[0].Text != m.Text {
		t.Fatalf("plain body: %v %v", err, Sealed(m))
	}
}
