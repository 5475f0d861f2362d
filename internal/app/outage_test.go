package app

import (
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// tcpProxy forwards to target until it is cut; then it refuses and drops
// every connection, as a database that went away.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, up: true}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if !p.up {
			p.mu.Unlock()
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		go func() { io.Copy(d, c); d.Close() }()
		go func() { io.Copy(c, d); c.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() { p.mu.Lock(); p.up = true; p.mu.Unlock() }

func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if pg == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL outage test")
	}
	u, err := url.Parse(pgtest.Schema(t, pg))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	cfg := testConfig(t)
	cfg.DatabaseURL = u.String()
	e := start(t, cfg)
	bob := e.login("bob", "password456")

	proxy.cut()
	expect(t, e.do("GET", "/me", bob.access, nil), 200, "") // verification needs no database
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "secret123"})
	expect(t, r, 503, "Database unavailable")
	expect(t, e.refresh(bob.refresh), 503, "Database unavailable")
	admin := e.do("GET", "/admin/users", bob.access, nil)
	if admin.status != 403 { // bob is no admin: refused before any database work
		t.Fatalf("admin as bob during outage: %d", admin.status)
	}
	r = e.do("GET", "/readyz", "", nil)
	expect(t, r, 503, "")
	if !strings.Contains(r.str(t, "detail"), "database") {
		t.Fatalf("readyz %s", r.body)
	}

	proxy.restore()
	eventually(t, 5*time.Second, func() bool { return e.do("GET", "/readyz", "", nil).status == 200 })
	e.login("alice", "secret123")
	expect(t, e.refresh(bob.refresh), 200, "")
}
