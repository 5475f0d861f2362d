package sqlstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// The benchmarks refresh sessions as the server does: each iteration
// presents the token that the previous one issued. BenchmarkRawRefreshSQL
// runs the same statements, prepared, on the same pool without the store,
// so that the ratio of the two is the store's overhead. The parallel variants have
// 16 goroutines per CPU refresh sessions of their own; for SQLite, the
// shared-pool variant shows what the single writer connection is for.
//
//	go test -run '^$' -bench Refresh ./internal/sqlstore/

func BenchmarkRotateRefreshToken(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		rotateChains(b, func(ctx context.Context, r auth.Rotation) error {
			_, err := s.RotateRefreshToken(ctx, r)
			return err
		}, s)
	})
}

func BenchmarkRawRefreshSQL(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		rotateChains(b, rawRefresher(b, s.w), s)
	})
}

// BenchmarkRawRefreshFair is everything a refresh must do, written out
// with database/sql and the crypto primitive alone: the rotation's
// statements with the audit row in the same transaction (as Gatehouse
// writes it), and one ES256 signature of an access token's size. It is
// the fair baseline of a refresh through Gatehouse: what is left above it
// is Gatehouse's own overhead (HTTP, JSON, the token's claims, limits).
func BenchmarkRawRefreshFair(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		audit, err := s.w.Prepare(`INSERT INTO audit_events
			(created_at, event, user_id, username, user_key, session_id, actor_id, actor, ip, user_agent, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { audit.Close() })
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		signingInput := []byte(strings.Repeat("x", 420)) // header.claims of an access token, base64url
		refresh := rawRefresher(b, s.w, func(ctx context.Context, tx *sql.Tx, r auth.Rotation) error {
			var id int64
			return tx.StmtContext(ctx, audit).QueryRowContext(ctx, r.Now.UnixMilli(), string(auth.AuditRefreshed), "u", "bench", "bench",
				"s", "u", "bench", "192.0.2.7", "bench/1.0", "rotated").Scan(&id)
		})
		rotateChains(b, func(ctx context.Context, r auth.Rotation) error {
			if err := refresh(ctx, r); err != nil {
				return err
			}
			digest := sha256.Sum256(signingInput)
			_, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
			return err
		}, s)
	})
}

// benchStores runs fn on SQLite, serially and in parallel, and on
// PostgreSQL when it is configured.
func benchStores(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, closeAtEnd(b, newSQLite(b))) })
	b.Run("sqlite/parallel", func(b *testing.B) { parallel(b, fn, closeAtEnd(b, newSQLite(b))) })
	b.Run("sqlite/parallel/shared-pool", func(b *testing.B) { parallel(b, fn, sharedPoolSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, closeAtEnd(b, newPostgres(b, postgresURL(b)))) })
	b.Run("postgres/parallel", func(b *testing.B) {
		parallel(b, fn, closeAtEnd(b, newPostgres(b, postgresURL(b))))
	})
}

// parallel marks the benchmark as one for rotateChains to run in
// parallel.
func parallel(b *testing.B, fn func(b *testing.B, s *Store), s *Store) {
	b.SetParallelism(16)
	fn(b, s)
}

// sharedPoolSQLite is the design not taken: one pool whose connections
// all write, each BEGIN IMMEDIATE waiting for the others in SQLite's busy
// handler.
func sharedPoolSQLite(b *testing.B) *Store {
	url := sqliteURL(b)
	if err := openMigrated(b, url).Close(); err != nil {
		b.Fatal(err)
	}
	path := strings.TrimPrefix(url, "sqlite:")
	db, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	c := newStmtCache(db)
	return closeAtEnd(b, &Store{r: db, w: db, rc: c, wc: c, d: sqliteDialect{}, log: slog.New(slog.DiscardHandler)})
}

// rotateChains refreshes sessions of one user: one chain of tokens when
// the benchmark is serial, one per goroutine in parallel.
func rotateChains(b *testing.B, rotate func(context.Context, auth.Rotation) error, s *Store) {
	ctx := context.Background()
	u := auth.User{Username: "bench", Role: auth.RoleUser, Active: true, PasswordHash: "h"}
	if err := s.CreateUser(ctx, &u, auth.Effects{}); err != nil {
		b.Fatal(err)
	}
	var chains atomic.Int64
	chain := func(next func() bool) {
		c := chains.Add(1)
		now := time.Now()
		h := fmt.Sprintf("%d-0", c)
		sess := auth.Session{ID: fmt.Sprint(c), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess, h, auth.Effects{}); err != nil {
			b.Fatal(err)
		}
		for i := 1; next(); i++ {
			r := auth.Rotation{PresentedHash: h, NewHash: fmt.Sprintf("%d-%d", c, i), Now: now,
				SessionTTL: time.Hour, ReuseInterval: 10 * time.Second}
			if err := rotate(ctx, r); err != nil {
				b.Fatal(err)
			}
			h = r.NewHash
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !strings.Contains(b.Name(), "parallel") {
		chain(b.Loop)
		return
	}
	b.RunParallel(func(pb *testing.PB) { chain(pb.Next) })
}

// rawStatements are the statements of a rotation of a live token.
var rawStatements = []string{
	useToken,
	extendSession,
	`INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES ($1, $2, $3)`,
	`SELECT ` + userColumns + ` FROM users WHERE id = $1`,
}

// rawRefresher returns what RotateRefreshToken does for a live token,
// written out with database/sql alone: the same statements, prepared once
// (the best database/sql can do; pgx would cache them anyway).
func rawRefresher(b *testing.B, db *sql.DB, also ...func(context.Context, *sql.Tx, auth.Rotation) error) func(context.Context, auth.Rotation) error {
	stmts := make([]*sql.Stmt, len(rawStatements))
	for i, q := range rawStatements {
		st, err := db.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		stmts[i] = st
	}
	return func(ctx context.Context, r auth.Rotation) error {
		return rawRefresh(ctx, db, stmts, r, also...)
	}
}

// rawRefresh runs the rotation's statements, then also (in the same
// transaction), and commits.
func rawRefresh(ctx context.Context, db *sql.DB, stmts []*sql.Stmt, r auth.Rotation, also ...func(context.Context, *sql.Tx, auth.Rotation) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := func(i int) *sql.Stmt { return tx.StmtContext(ctx, stmts[i]) }
	var sid, uid, ua, ip, amr string
	var created, refreshed, expires, authTime int64
	var revoked sql.NullInt64
	if err := st(0).QueryRowContext(ctx, r.Now.UnixMilli(), r.PresentedHash).Scan(&sid); err != nil {
		return err
	}
	// No per-session rate ($4 ms, $5 refreshes), as RotateRefreshToken
	// passes when the rate is off.
	err = st(1).QueryRowContext(ctx, r.Now.UnixMilli(), r.Now.Add(r.SessionTTL).UnixMilli(), sid, int64(1), int32(math.MaxInt32)).
		Scan(&sid, &uid, &created, &refreshed, &expires, &revoked, &ua, &ip, &amr, &authTime)
	if err != nil {
		return err
	}
	if _, err = st(2).ExecContext(ctx, r.NewHash, sid, r.Now.UnixMilli()); err != nil {
		return err
	}
	var u auth.User
	dest, finish := userDest(&u) // the columns of userColumns, whatever they are
	if err = st(3).QueryRowContext(ctx, uid).Scan(dest...); err != nil {
		return err
	}
	finish()
	for _, f := range also {
		if err := f(ctx, tx, r); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// BenchmarkClaimMail is a sender's loop: each iteration claims a batch
// of claimBatch due messages and marks each one sent. The outbox is
// filled before the timer starts, with claimBatch messages per
// iteration; in parallel, 16 senders per CPU share it.
//
//	go test -run '^$' -bench ClaimMail ./internal/sqlstore/
func BenchmarkClaimMail(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		fillOutbox(b, s, b.N*claimBatch)
		now := time.Now().Add(time.Second)
		send := func() {
			claimed, err := s.ClaimMail(ctx, now, time.Minute, claimBatch)
			if err != nil || len(claimed) == 0 {
				b.Fatalf("ClaimMail: %d messages, %v", len(claimed), err)
			}
			for _, m := range claimed {
				if err := s.MarkMailSent(ctx, m.ID, m.Lease, now); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		if !strings.Contains(b.Name(), "parallel") {
			for range b.N {
				send()
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send()
			}
		})
	})
}

// claimBatch is how many messages BenchmarkClaimMail claims at once.
const claimBatch = 10

// fillOutbox queues n messages, 500 to a transaction.
func fillOutbox(b *testing.B, s *Store, n int) {
	for n > 0 {
		var fx auth.Effects
		for i := 1; i < min(n, 500); i++ {
			fx.Mail = append(fx.Mail, auth.Mail{Kind: auth.MailNotice, To: fmt.Sprintf("u%d@example.com", i),
				Subject: "Notice", Text: strings.Repeat("body ", 40)})
		}
		m := auth.Mail{Kind: auth.MailNotice, To: "u0@example.com", Subject: "Notice", Text: "body"}
		if err := s.EnqueueMail(context.Background(), m, fx); err != nil {
			b.Fatal(err)
		}
		n -= 1 + len(fx.Mail)
	}
}
