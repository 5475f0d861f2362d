package app

import (
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection, so that slow or
// stalled clients cannot exhaust the server.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// ServeTimeouts are gatehouse serve's.
var ServeTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 30 * time.Second, Idle: 120 * time.Second}

// MaxHeaderBytes caps the request line and headers; a request over it is
// answered 431.
const MaxHeaderBytes = 64 << 10

// HTTPServer is the http.Server that serves h with timeouts t and serve's
// header limit.
func HTTPServer(h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
