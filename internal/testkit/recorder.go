package testkit

import "net/http"

// Recorder is an http.ResponseWriter to be reused from one request to the
// next (Reset between them): its header map and body buffer keep their
// memory, so that what a request allocates or executes through it is the
// handler's, not the recorder's as with httptest.ResponseRecorder.
type Recorder struct {
	header http.Header
	Code   int    // the status written; 0 before any
	Body   []byte // what was written since Reset
}

// Reset empties r for the next request.
func (r *Recorder) Reset() {
	clear(r.header)
	r.Code, r.Body = 0, r.Body[:0]
}

// Header returns the header map, made on first use.
func (r *Recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

// WriteHeader keeps the first status written.
func (r *Recorder) WriteHeader(code int) {
	if r.Code == 0 {
		r.Code = code
	}
}

// Write appends b to Body, with status 200 if none was written.
func (r *Recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.Body = append(r.Body, b...)
	return len(b), nil
}
