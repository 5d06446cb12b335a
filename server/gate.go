package server

import (
	"net/http"
	"sync/atomic"
)

// Gate is the handler a server answers with while its model loads: GET
// /health and every other request get 503 (with Retry-After) until Ready
// hands it the real handler. A load balancer's health check thus sees a
// replica that listens but is not ready, and sends it nothing yet.
type Gate struct {
	h      atomic.Pointer[http.Handler]
	failed atomic.Pointer[string]
}

// NewGate returns a Gate that is loading.
func NewGate() *Gate { return &Gate{} }

// Ready makes the Gate pass every request to h.
func (g *Gate) Ready(h http.Handler) { g.h.Store(&h) }

// Fail makes the Gate answer 503 with reason (loading failed and the
// process is about to exit).
func (g *Gate) Fail(reason string) { g.failed.Store(&reason) }

func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	msg := "loading model"
	if f := g.failed.Load(); f != nil {
		msg = "loading the model failed: " + *f
	}
	writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "loading", RetryAfter: 1, Message: msg})
}
