// Package server serves a model over OpenAI's HTTP API, as llama.cpp's
// llama-server does: POST /v1/chat/completions and /v1/completions (plain
// JSON or server-sent events), GET /v1/models, llama-server's /tokenize and
// /detokenize, GET /health for load balancers and GET /metrics for
// Prometheus.
//
// Requests run on slots: each slot is an infer.Session with its own KV
// cache, and Config.Parallel slots run at once. The context given by
// Config.ContextLength is the total, split evenly across the slots (as
// llama-server splits -c across --parallel): 4096 positions and 4 slots give
// each request 1024. A request takes the free slot whose cache already
// holds the longest prefix of its prompt, so the next turn of a
// conversation evaluates only its new tokens; when every slot is busy it
// waits in a bounded queue, and beyond that is refused with 503 and
// Retry-After. A client that disconnects stops its generation at the next
// token and frees its slot.
//
// Every error is answered with OpenAI's error JSON,
// {"error": {"message", "type", "param", "code"}}: a bad request (bad JSON,
// a field of the wrong type, an unknown model, a prompt longer than a
// slot's context, a sampling value out of range) is a 4xx naming the field
// at fault; a panic in a handler is recovered, logged and answered with 500
// without stopping the server.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/infer-go/infer"
)

// Config chooses how a Server serves. The zero value is a good default.
type Config struct {
	// Parallel is the number of slots: requests generating at once, each
	// with its own KV cache. 0 means 1.
	Parallel int
	// ContextLength is the total of the slots' contexts, split evenly
	// across them (llama-server's -c with --parallel); 0 means the model's
	// context length (infer.Options.ContextLength).
	ContextLength int
	// Queue is how many requests may wait for a slot while all are busy;
	// a request beyond it gets 503 with Retry-After. 0 means DefaultQueue;
	// a negative value means none wait.
	Queue int
	// Timeout bounds a request from its arrival (waiting for a slot
	// included) to its last token; 0 means no limit.
	Timeout time.Duration
	// MaxBodyBytes bounds a request body (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxTokensLimit, when > 0, is the most tokens a request may ask for
	// (400 beyond) and the limit of a request that names none; otherwise a
	// reply ends at an end-of-generation token or when its slot's context
	// is full (finish_reason "length").
	MaxTokensLimit int
	// APIKey, when set, is required of every request but GET /health, as
	// "Authorization: Bearer KEY".
	APIKey string
	// ModelName is the model's id in /v1/models and the name requests
	// must give (or none); "" means the file's base name, which requests
	// may also give without its .gguf.
	ModelName string
	// ChatTemplate overrides the model's chat template: a built-in
	// format's name, one of the model's named templates or a template
	// file, as infer.Model.ChatFormat takes; "" is the model's own (or, for
	// a model without one, a format guessed from its vocabulary).
	ChatTemplate string
	// Logger gets one line per request (method, path, status, tokens, ms)
	// and the errors behind 500s; nil discards them.
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultQueue        = 64
	DefaultMaxBodyBytes = 8 << 20
)

// Server is an http.Handler serving one model.
type Server struct {
	m        *infer.Model
	cfg      Config
	perSlot  int
	slots    []*slot
	pool     *slotPool
	prompter *prompter
	metrics  *metrics
	mux      *http.ServeMux
	log      *slog.Logger
	names    []string // model names a request may give
	created  int64

	// done is cancelled by CancelAll: every running request stops.
	done   context.Context
	cancel context.CancelFunc
}

// New makes a Server for m, opening Config.Parallel sessions. The Server
// does not own m: close the Server, then the model.
func New(m *infer.Model, cfg Config) (*Server, error) {
	if cfg.Parallel < 0 {
		return nil, fmt.Errorf("server: %d parallel slots: want at least 1", cfg.Parallel)
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 1
	}
	if cfg.ContextLength < 0 {
		return nil, fmt.Errorf("server: context length %d: want 0 (the model's) or more", cfg.ContextLength)
	}
	if cfg.ContextLength == 0 {
		cfg.ContextLength = m.Config().ContextLength
	}
	switch {
	case cfg.Queue == 0:
		cfg.Queue = DefaultQueue
	case cfg.Queue < 0:
		cfg.Queue = 0
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxTokensLimit < 0 {
		return nil, fmt.Errorf("server: max tokens limit %d: want 0 (none) or more", cfg.MaxTokensLimit)
	}
	perSlot := cfg.ContextLength / cfg.Parallel
	if perSlot < 1 {
		return nil, fmt.Errorf("server: a context of %d positions cannot be split across %d slots", cfg.ContextLength, cfg.Parallel)
	}
	base := strings.TrimSuffix(filepath.Base(m.Info().Path), ".gguf")
	names := []string{base, filepath.Base(m.Info().Path)}
	if cfg.ModelName == "" {
		cfg.ModelName = filepath.Base(m.Info().Path)
	} else {
		names = append([]string{cfg.ModelName}, names...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pr, err := newPrompter(m, cfg.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{m: m, cfg: cfg, perSlot: perSlot, prompter: pr, metrics: newMetrics(), log: log,
		names: names, created: time.Now().Unix()}
	for i := range cfg.Parallel {
		sess, err := m.NewSession(infer.SessionOptions{ContextLength: perSlot})
		if err != nil {
			for _, sl := range s.slots {
				sl.sess.Close()
			}
			return nil, fmt.Errorf("server: slot %d: %w", i, err)
		}
		s.slots = append(s.slots, &slot{id: i, sess: sess})
	}
	s.pool = newSlotPool(s.slots, cfg.Queue)
	s.done, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/completions", s.handleCompletion)
	mux.HandleFunc("POST /completions", s.handleCompletion)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /models", s.handleModels)
	mux.HandleFunc("POST /tokenize", s.handleTokenize)
	mux.HandleFunc("POST /detokenize", s.handleDetokenize)
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("/", s.handleUnknown)
	s.mux = mux
}

// ModelName is the model's id as /v1/models lists it.
func (s *Server) ModelName() string { return s.cfg.ModelName }

// ContextPerSlot is the number of positions each slot's cache holds: the
// longest prompt plus reply a request can have.
func (s *Server) ContextPerSlot() int { return s.perSlot }

// ChatFormat names the chat format used and says whether it is a guess
// (the model carries no template).
func (s *Server) ChatFormat() (name string, guessed bool) {
	return s.prompter.format.Name, s.prompter.format.Guessed
}

// Stats is a snapshot of the server's slots.
type Stats struct {
	Slots  int // slots in all
	Busy   int // running a request
	Queued int // requests waiting for a slot
	// PeakQueued is the longest the queue has been since New.
	PeakQueued int
}

// Stats reports the slots' use now.
func (s *Server) Stats() Stats {
	ps := s.pool.stats()
	return Stats{Slots: len(s.slots), Busy: ps.busy, Queued: ps.queued, PeakQueued: ps.peakQueued}
}

// CancelAll stops every running and waiting request (their generations
// end at the next token); the server keeps answering new ones. It is the
// end of a shutdown's grace period.
func (s *Server) CancelAll() { s.cancel() }

// Close cancels running requests and closes the sessions. Call it after
// the HTTP server has stopped (http.Server.Shutdown or Close).
func (s *Server) Close() error {
	s.cancel()
	for _, sl := range s.slots {
		sl.sess.Close()
	}
	return nil
}

// requestRecord collects what the log line says about a request beyond
// its status.
type requestRecord struct {
	start                                        time.Time // the request's arrival
	promptTokens, cachedTokens, completionTokens int
	slot                                         int
	finish                                       string
}

type recordKey struct{}

func recordOf(ctx context.Context) *requestRecord {
	if r, ok := ctx.Value(recordKey{}).(*requestRecord); ok {
		return r
	}
	return &requestRecord{start: time.Now()}
}

// ServeHTTP checks the API key, routes the request, recovers a panicking
// handler, counts the request and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &requestRecord{slot: -1, start: start}
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := s.mux.Handler(r)
	endpoint := r.URL.Path
	if pattern == "" || pattern == "/" {
		endpoint = "other"
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !sw.wrote {
				writeError(sw, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "internal error (logged by the server)"})
			}
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		s.metrics.countRequest(endpoint, status)
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
		}
		if rec.slot >= 0 {
			attrs = append(attrs, slog.Int("slot", rec.slot), slog.Int("prompt_tokens", rec.promptTokens),
				slog.Int("cached_tokens", rec.cachedTokens), slog.Int("completion_tokens", rec.completionTokens),
				slog.String("finish", rec.finish))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}()
	if s.cfg.APIKey != "" && r.URL.Path != "/health" && !s.authorized(r) {
		writeError(sw, &apiError{Status: http.StatusUnauthorized, Type: "authentication_error", Code: "invalid_api_key",
			Message: "missing or wrong API key: send \"Authorization: Bearer KEY\""})
		return
	}
	s.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.cfg.APIKey)) == 1
}

// statusWriter remembers the status written, for the log and the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered: server-sent events need it.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusClientClosed is what the log and metrics record for a request
// whose client went away before the answer (nginx's 499); nothing is sent.
const statusClientClosed = 499

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// encodeJSON encodes v without escaping <, > and & (generated text is
// full of them, and no client needs them escaped).
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // only values of this package are written
		panic(fmt.Sprintf("server: encoding a response: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// readBody reads the request body within the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
				Message: fmt.Sprintf("the request body is larger than this server's limit of %d bytes", mbe.Limit)}
		}
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return body, nil
}

// checkModel accepts the server's model names, and none.
func (s *Server) checkModel(name string) *apiError {
	if name == "" {
		return nil
	}
	for _, n := range s.names {
		if name == n {
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("the model %q is not served here: this server serves %q (GET /v1/models)", name, s.cfg.ModelName)}
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	for _, p := range []string{"/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/tokenize", "/detokenize"} {
		if r.URL.Path == p {
			w.Header().Set("Allow", "POST")
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Message: r.URL.Path + " takes POST"})
			return
		}
	}
	for _, p := range []string{"/v1/models", "/models", "/health", "/metrics"} {
		if r.URL.Path == p {
			w.Header().Set("Allow", "GET")
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Message: r.URL.Path + " takes GET"})
			return
		}
	}
	writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "unknown_url",
		Message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	ps := s.pool.stats()
	var kv int64
	for _, sl := range s.slots {
		kv += sl.sess.KVCacheBytes()
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, gauges{slots: len(s.slots), busy: ps.busy, queued: ps.queued, queueLimit: s.cfg.Queue,
		cachedTokens: ps.cachedTokens, ctxSize: s.perSlot * len(s.slots), kvBytes: kv})
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	in := s.m.Info()
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []any{map[string]any{
			"id": s.cfg.ModelName, "object": "model", "created": s.created, "owned_by": "infer",
			"meta": map[string]any{"arch": in.Arch, "file_type": in.FileType, "n_params": in.Params, "size": in.FileBytes,
				"n_vocab": in.VocabSize, "n_ctx_train": in.TrainContext, "n_ctx_slot": s.perSlot, "slots": len(s.slots)},
		}},
	})
}

// newID returns an id such as "chatcmpl-3f2a...".
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
