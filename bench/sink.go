package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server in the harness's process, on 127.0.0.1, that
// takes every message and keeps only counts: messages, and how many times
// each Message-ID came. The servers under test deliver to it; so does the
// raw-SMTP baseline.
type sink struct {
	addr string
	srv  *smtp.Server

	mu      sync.Mutex
	ids     map[string]int // Message-ID (without the brackets) → deliveries
	n       int            // messages taken since the last reset
	noID    int            // of them, without a Message-ID
	want    int            // reach is closed when n reaches it (0: no wait)
	reach   chan struct{}
	reached time.Time // when the message that made n reach want came
}

// startSink starts a sink; its errors (a client that hung up) go to logw.
func startSink(logw io.Writer) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: listen: %w", err)
	}
	s := &sink{addr: ln.Addr().String(), ids: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return sinkSession{s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = log.New(logw, "smtp sink: ", log.LstdFlags)
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintf(logw, "smtp sink: serve: %v\n", err)
		}
	}()
	return s, nil
}

// url is the sink as a GATEHOUSE_SMTP_URL (loopback: no TLS needed).
func (s *sink) url() string { return (&url.URL{Scheme: "smtp", Host: s.addr}).String() }

func (s *sink) close() { s.srv.Close() }

// reset forgets what came so far; once want messages have come after it
// (want > 0), the channel returned is closed.
func (s *sink) reset(want int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids, s.n, s.noID, s.want = map[string]int{}, 0, 0, want
	s.reach, s.reached = make(chan struct{}), time.Time{}
	return s.reach
}

// sinkCounts is what a sink took since its last reset.
type sinkCounts struct {
	messages, distinct, duplicates, noID int
	reached                              time.Time // when the wanted count came; zero if not yet
}

func (s *sink) counts() sinkCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := sinkCounts{messages: s.n, distinct: len(s.ids), noID: s.noID, reached: s.reached}
	for _, k := range s.ids {
		c.duplicates += k - 1
	}
	return c
}

// took records one message.
func (s *sink) took(id string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if id == "" {
		s.noID++
	} else {
		s.ids[id]++
	}
	if s.want > 0 && s.n == s.want {
		s.reached = now
		close(s.reach)
	}
}

// sinkSession is one SMTP conversation: any sender, any recipients.
type sinkSession struct{ s *sink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

// Data reads the headers for the Message-ID and discards the rest.
func (x sinkSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("read headers: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	x.s.took(messageID(h.Get("Message-Id")))
	return nil
}

// messageID returns a Message-ID header's id without the angle brackets.
func messageID(v string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "<"), ">")
}
