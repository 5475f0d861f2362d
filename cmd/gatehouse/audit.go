package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
)

// auditPage is how many events the audit command reads at a time.
const auditPage = 500

func runAudit(ctx context.Context, env *cliEnv, args []string) error {
	var f auth.AuditFilter
	var event, since string
	var limit int
	var asJSON bool
	cfg, _, err := loadConfig(env, "audit", "", "List the audit trail, newest first: logins, refreshes, logouts, revocations, user changes and key rotations.", 0, args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.User, "user", "", "only events about this user `id or name`")
		fs.StringVar(&event, "event", "", "only this `event`, such as login.failed")
		fs.StringVar(&since, "since", "", "only events since this `time`: RFC 3339 (2026-01-02T15:04:05Z) or a duration back from now (24h)")
		fs.IntVar(&limit, "limit", 50, "print at most this many events; 0 prints all")
		fs.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	})
	if err != nil {
		return err
	}
	if f.Event, err = audit.ParseEvent(event); err != nil {
		return fmt.Errorf("--event %q: %w", event, err)
	}
	if f.Since, err = parseSince(since, time.Now()); err != nil {
		return err
	}
	if limit < 0 {
		return fmt.Errorf("--limit %d: use 0 (all) or more", limit)
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		p := newAuditPrinter(env.stdout, asJSON)
		err := eachAuditEvent(ctx, a.Audit, f, limit, p.print)
		if ferr := p.flush(); err == nil {
			err = ferr
		}
		return err
	})
}

// eachAuditEvent calls fn for up to limit (0: all) events that f selects,
// newest first, reading them a page at a time.
func eachAuditEvent(ctx context.Context, r *audit.Recorder, f auth.AuditFilter, limit int, fn func(auth.AuditEvent) error) error {
	for n := 0; limit == 0 || n < limit; {
		f.Limit = auditPage
		if limit > 0 {
			f.Limit = min(auditPage, limit-n)
		}
		events, next, err := r.List(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		n += len(events)
		if next == 0 {
			return nil
		}
		f.Before = next
	}
	return nil
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration such as 24h", v)
}

// newAuditPrinter prints events as a table, or as JSON lines.
func newAuditPrinter(w io.Writer, asJSON bool) *printer[auth.AuditEvent] {
	return newPrinter(w, asJSON, []string{"TIME", "EVENT", "USER", "SESSION", "ACTOR", "IP", "DETAIL"},
		func(e auth.AuditEvent) []string {
			user := e.Username
			if user == "" {
				user = e.UserID
			}
			return []string{e.Time.UTC().Format(time.RFC3339), string(e.Event), dash(user), dash(e.SessionID), dash(e.Actor), dash(e.IP), dash(e.Detail)}
		},
		func(e auth.AuditEvent) any { return audit.ToJSON(e) })
}
