package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/auth"
)

const mailUsage = `Usage: gatehouse mail SUBCOMMAND [flags]

Subcommands:
  list [--state S] [--limit N] [--json]   list the outbox, newest first

Run "gatehouse mail SUBCOMMAND --help" for flags.
`

// mailPage is how many messages the mail command reads at a time.
const mailPage = 500

func runMail(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(env.stderr, mailUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub == "list" {
		return mailList(ctx, env, args)
	}
	fmt.Fprintf(env.stderr, "gatehouse mail: unknown subcommand %q\n\n%s", sub, mailUsage)
	return errUsage
}

func mailList(ctx context.Context, env *cliEnv, args []string) error {
	var state string
	var limit int
	var asJSON bool
	cfg, _, err := loadConfig(env, "mail list", "", "List the outbox, newest first: each message's recipient (partly hidden), kind, state, attempts and last error. Subjects and bodies, which may hold live links, are never shown.", 0, args, func(fs *flag.FlagSet) {
		fs.StringVar(&state, "state", "", "only messages in this `state`: pending, sent or failed")
		fs.IntVar(&limit, "limit", 50, "print at most this many messages; 0 prints all")
		fs.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	})
	if err != nil {
		return err
	}
	f := auth.MailFilter{State: auth.MailState(state)}
	switch f.State {
	case "", auth.MailPending, auth.MailSent, auth.MailFailed:
	default:
		return fmt.Errorf("--state %q: use pending, sent or failed", state)
	}
	if limit < 0 {
		return fmt.Errorf("--limit %d: use 0 (all) or more", limit)
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		p := newMailPrinter(env.stdout, asJSON)
		err := eachMail(ctx, a.Store, f, limit, p.print)
		if ferr := p.flush(); err == nil {
			err = ferr
		}
		return err
	})
}

// mailLister is what the mail command needs of the store.
type mailLister interface {
	ListMail(ctx context.Context, f auth.MailFilter) ([]auth.Mail, error)
}

// eachMail calls fn for up to limit (0: all) messages that f selects,
// newest first, reading them a page at a time.
func eachMail(ctx context.Context, st mailLister, f auth.MailFilter, limit int, fn func(auth.Mail) error) error {
	for n := 0; limit == 0 || n < limit; {
		f.Limit = mailPage
		if limit > 0 {
			f.Limit = min(mailPage, limit-n)
		}
		page, err := st.ListMail(ctx, f)
		if err != nil {
			return fmt.Errorf("list the outbox: %w", err)
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		n += len(page)
		if len(page) < f.Limit {
			return nil
		}
		f.Before = page[len(page)-1].ID
	}
	return nil
}

// newMailPrinter prints messages as a table, or as JSON lines.
func newMailPrinter(w io.Writer, asJSON bool) *printer[auth.Mail] {
	return newPrinter(w, asJSON, []string{"ID", "CREATED", "STATE", "KIND", "TO", "ATTEMPTS", "LAST ERROR"},
		func(m auth.Mail) []string {
			return []string{m.ID, m.CreatedAt.UTC().Format(time.RFC3339), string(m.State), string(m.Kind),
				auth.Redacted(m.To), strconv.Itoa(m.Attempts), dash(m.LastError)}
		}, toMailJSON)
}

// mailJSON is a message as `mail list --json` prints it: never its
// subject or body.
type mailJSON struct {
	ID            string     `json:"id"`
	MessageID     string     `json:"message_id"`
	CreatedAt     time.Time  `json:"created_at"`
	State         string     `json:"state"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	UserID        string     `json:"user_id,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // null unless pending
	SentAt        *time.Time `json:"sent_at"`         // null unless sent
}

func toMailJSON(m auth.Mail) any {
	j := mailJSON{
		ID: m.ID, MessageID: m.MessageID, CreatedAt: m.CreatedAt.UTC(), State: string(m.State), Kind: string(m.Kind),
		To: auth.Redacted(m.To), UserID: m.UserID, Attempts: m.Attempts, LastError: m.LastError,
	}
	if m.State == auth.MailPending {
		j.NextAttemptAt = utcPtr(m.NextAttemptAt)
	}
	if !m.SentAt.IsZero() {
		j.SentAt = utcPtr(m.SentAt)
	}
	return j
}

func utcPtr(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}
