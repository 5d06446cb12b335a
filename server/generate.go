package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
)

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	req, e := decodeChatRequest(body)
	if e != nil {
		writeError(w, e)
		return
	}
	if e := s.checkModel(req.Model); e != nil {
		writeError(w, e)
		return
	}
	opts, e := req.generateOptions(s.cfg.MaxTokensLimit, s.m.Config().VocabSize)
	if e != nil {
		writeError(w, e)
		return
	}
	prompt, err := s.prompter.tokens(req.Messages, req.Tools)
	if err != nil {
		var te *chat.TemplateError
		if errors.As(err, &te) { // the template refused the conversation
			writeError(w, badRequest("messages", "the chat template refused the messages: %s", te.Message))
			return
		}
		writeError(w, badRequest("messages", "rendering the messages with the chat template: %v", err))
		return
	}
	if s.prompter.turnEnd != "" {
		opts.Stop = append(opts.Stop[:len(opts.Stop):len(opts.Stop)], s.prompter.turnEnd)
	}
	s.generate(w, r, chatReply, &req.generationRequest, prompt, opts)
}

func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	req, e := decodeCompletionRequest(body)
	if e != nil {
		writeError(w, e)
		return
	}
	if e := s.checkModel(req.Model); e != nil {
		writeError(w, e)
		return
	}
	opts, e := req.generateOptions(s.cfg.MaxTokensLimit, s.m.Config().VocabSize)
	if e != nil {
		writeError(w, e)
		return
	}
	var prompt []int32
	if req.Prompt.isIDs {
		vocab := s.m.Config().VocabSize
		prompt = make([]int32, len(req.Prompt.ids))
		for i, id := range req.Prompt.ids {
			if id < 0 || id >= int64(vocab) {
				writeError(w, badRequest("prompt", "prompt[%d]: token %d is outside the vocabulary of %d tokens", i, id, vocab))
				return
			}
			prompt[i] = int32(id)
		}
	} else {
		// As llama-server: the model's BOS rule, special tokens parsed.
		prompt = s.m.Tokenize(req.Prompt.text, true, true)
	}
	s.generate(w, r, completionReply, &req.generationRequest, prompt, opts)
}

// replyKind is the shape of a generation's answer.
type replyKind int

const (
	chatReply       replyKind = iota // chat.completion / chat.completion.chunk
	completionReply                  // text_completion
)

// Why a request's context ended, beside its client going away.
var (
	errShuttingDown = errors.New("the server is shutting down")
	errTimedOut     = errors.New("the request took longer than the server's timeout")
)

// generate runs prompt on a slot and answers, streaming or not.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, kind replyKind, req *generationRequest, prompt []int32, opts infer.GenerateOptions) {
	rec := recordOf(r.Context())
	arrived := rec.start
	var firstToken time.Duration
	rec.promptTokens = len(prompt)
	promptParam := "messages"
	if kind == completionReply {
		promptParam = "prompt"
	}
	switch {
	case len(prompt) == 0:
		writeError(w, badRequest(promptParam, "the prompt is empty (and the model adds no BOS token)"))
		return
	case len(prompt) > s.perSlot:
		writeError(w, &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: promptParam, Code: "context_length_exceeded",
			Message: fmt.Sprintf("the prompt is %d tokens, more than the %d of a slot's context", len(prompt), s.perSlot)})
		return
	}

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stop := context.AfterFunc(s.done, func() { cancel(errShuttingDown) })
	defer stop()
	if s.cfg.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, s.cfg.Timeout, errTimedOut)
		defer cancelTimeout()
	}

	sl, err := s.pool.acquire(ctx, prompt)
	if err != nil {
		switch {
		case errors.Is(err, errQueueFull):
			s.metrics.countRejected()
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "server_busy", RetryAfter: 1,
				Message: fmt.Sprintf("all %d slots are busy and %d requests are waiting: retry later", len(s.slots), s.cfg.Queue)})
		default:
			s.writeCancelled(w, r, ctx, "waiting for a free slot")
		}
		return
	}
	rec.slot = sl.id
	released := false
	defer func() {
		if released {
			return
		}
		if v := recover(); v != nil {
			sl.sess.Reset() // its cache may not match its tokens
			s.pool.release(sl)
			panic(v)
		}
		s.pool.release(sl)
	}()

	id := newID("chatcmpl-")
	object := "chat.completion"
	if kind == completionReply {
		id, object = newID("cmpl-"), "text_completion"
	}
	created := time.Now().Unix()
	model := s.cfg.ModelName

	var text strings.Builder
	var emit func(infer.Token) bool
	var sse *sseWriter
	if req.Stream {
		sse = newSSE(w)
		if kind == chatReply { // OpenAI's first chunk: the role
			sse.send(chunk(id, object+chunkSuffix(kind), created, model,
				map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}, "finish_reason": nil}))
		}
		emit = func(t infer.Token) bool {
			if firstToken == 0 {
				firstToken = time.Since(arrived)
			}
			if t.Text == "" {
				return sse.err == nil
			}
			var choice map[string]any
			if kind == chatReply {
				choice = map[string]any{"index": 0, "delta": map[string]any{"content": t.Text}, "finish_reason": nil}
			} else {
				choice = map[string]any{"index": 0, "text": t.Text, "logprobs": nil, "finish_reason": nil}
			}
			return sse.send(chunk(id, object+chunkSuffix(kind), created, model, choice)) == nil
		}
	} else {
		emit = func(t infer.Token) bool {
			if firstToken == 0 {
				firstToken = time.Since(arrived)
			}
			text.WriteString(t.Text)
			return true
		}
	}

	st, err := sl.sess.Generate(ctx, prompt, opts, emit)
	s.pool.release(sl)
	released = true
	rec.cachedTokens, rec.completionTokens = st.CachedTokens, st.GeneratedTokens
	s.metrics.countGeneration(st.PromptTokens, st.CachedTokens, st.GeneratedTokens, st.PromptEval, st.Generation)

	if err != nil {
		if ctx.Err() != nil {
			if sse != nil {
				sse.sendError(s.cancelledError(r, ctx, "generating"))
				return
			}
			s.writeCancelled(w, r, ctx, "generating")
			return
		}
		if errors.Is(err, infer.ErrPromptTooLong) {
			e := badRequest(promptParam, "%v", err)
			e.Code = "context_length_exceeded"
			if sse != nil {
				sse.sendError(e)
			} else {
				writeError(w, e)
			}
			return
		}
		s.log.Error("generation failed", "path", r.URL.Path, "slot", sl.id, "err", err)
		e := &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "generation failed: " + err.Error()}
		if sse != nil {
			sse.sendError(e)
		} else {
			writeError(w, e)
		}
		return
	}
	if sse != nil && sse.err != nil { // the client went away mid-stream
		rec.finish = "client gone"
		return
	}
	finish := finishReason(st.Stop)
	rec.finish = finish
	defer func() { s.metrics.observeLatency(time.Since(arrived), firstToken) }() // once the answer is written
	usage := map[string]any{
		"prompt_tokens": st.PromptTokens, "completion_tokens": st.GeneratedTokens,
		"total_tokens":          st.PromptTokens + st.GeneratedTokens,
		"prompt_tokens_details": map[string]any{"cached_tokens": st.CachedTokens},
	}
	if sse != nil {
		var choice map[string]any
		if kind == chatReply {
			choice = map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}
		} else {
			choice = map[string]any{"index": 0, "text": "", "logprobs": nil, "finish_reason": finish}
		}
		sse.send(chunk(id, object+chunkSuffix(kind), created, model, choice))
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			c := chunk(id, object+chunkSuffix(kind), created, model)
			c["usage"] = usage
			sse.send(c)
		}
		sse.done()
		return
	}
	var choice map[string]any
	if kind == chatReply {
		choice = map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text.String()},
			"logprobs": nil, "finish_reason": finish}
	} else {
		choice = map[string]any{"index": 0, "text": text.String(), "logprobs": nil, "finish_reason": finish}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "object": object, "created": created, "model": model,
		"choices": []any{choice}, "usage": usage,
	})
}

func chunkSuffix(kind replyKind) string {
	if kind == chatReply {
		return ".chunk"
	}
	return ""
}

// chunk is one streamed event's object.
func chunk(id, object string, created int64, model string, choices ...map[string]any) map[string]any {
	list := make([]any, len(choices))
	for i, c := range choices {
		list[i] = c
	}
	return map[string]any{"id": id, "object": object, "created": created, "model": model, "choices": list}
}

// finishReason is OpenAI's name for why generation stopped.
func finishReason(r infer.StopReason) string {
	switch r {
	case infer.StopMaxTokens, infer.StopContextFull:
		return "length"
	}
	return "stop"
}

// cancelledError says why ctx ended: the server's timeout or shutdown; nil
// when the client went away (there is nobody to tell).
func (s *Server) cancelledError(r *http.Request, ctx context.Context, doing string) *apiError {
	switch context.Cause(ctx) {
	case errTimedOut:
		return &apiError{Status: http.StatusServiceUnavailable, Type: "timeout_error", Code: "timeout", RetryAfter: 1,
			Message: fmt.Sprintf("timed out after %s %s", s.cfg.Timeout, doing)}
	case errShuttingDown:
		return &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "shutting_down", RetryAfter: 1,
			Message: "the server is shutting down"}
	}
	return nil
}

func (s *Server) writeCancelled(w http.ResponseWriter, r *http.Request, ctx context.Context, doing string) {
	if e := s.cancelledError(r, ctx, doing); e != nil {
		writeError(w, e)
		return
	}
	if sw, ok := w.(*statusWriter); ok && !sw.wrote {
		sw.status, sw.wrote = statusClientClosed, true // for the log; nothing is sent
	}
}

// sseWriter writes server-sent events: "data: JSON\n\n", flushed at once.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error // the first write error: the client is gone
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

func (s *sseWriter) flush() {
	if s.err == nil {
		if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.err = err
		}
	}
}

func (s *sseWriter) write(line string) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write([]byte(line)); err != nil {
		s.err = err
		return err
	}
	s.flush()
	return s.err
}

func (s *sseWriter) send(v any) error {
	return s.write("data: " + string(encodeJSON(v)) + "\n\n")
}

// sendError ends a stream whose status is already sent with an error event
// (OpenAI's error object) and no [DONE]; nil e (the client is gone) sends
// nothing.
func (s *sseWriter) sendError(e *apiError) {
	if e != nil {
		s.send(e.body())
	}
}

func (s *sseWriter) done() { s.write("data: [DONE]\n\n") }
