package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/sampler"
)

// The tests run the real server on a real model from ../shared through
// OpenAI's own Go client. The model's weights are random: its text is
// gibberish, so the tests check shapes, counts and equalities (a streamed
// reply equals the plain one; a completion equals the library's own
// greedy generation), not words.

var (
	modelOnce sync.Once
	testModel *infer.Model
	modelErr  error
)

// sharedModel loads tiny-llama-256-q8_0.gguf once for the package (or
// skips without ../shared). Its context is 256 positions.
func sharedModel(t testing.TB) *infer.Model {
	t.Helper()
	path := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	modelOnce.Do(func() { testModel, modelErr = infer.Load(path, infer.Options{Threads: 2}) })
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return testModel
}

// startServer serves the shared model on an httptest server.
func startServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	m := sharedModel(t)
	s, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

// cl is client's result, addressable.
func cl(hs *httptest.Server, opts ...option.RequestOption) *openai.Client {
	c := client(hs, opts...)
	return &c
}

func client(hs *httptest.Server, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(hs.URL + "/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
	}, opts...)...)
}

// greedyChat is a short greedy chat request.
func greedyChat(model string, maxTokens int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       model,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are terse."), openai.UserMessage("Say hello.")},
		MaxTokens:   openai.Int(maxTokens),
		Temperature: openai.Float(0),
	}
}

func TestChatPlainAndStreamed(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1})
	c := client(hs)
	ctx := context.Background()

	plain, err := c.Chat.Completions.New(ctx, greedyChat(s.ModelName(), 12))
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Choices) != 1 {
		t.Fatalf("%d choices, want 1", len(plain.Choices))
	}
	ch := plain.Choices[0]
	if ch.Message.Role != "assistant" || ch.Message.Content == "" {
		t.Errorf("message = %+v, want an assistant's non-empty reply", ch.Message)
	}
	u := plain.Usage
	if u.PromptTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %+v: want prompt tokens and total = prompt + completion", u)
	}
	switch ch.FinishReason {
	case "length":
		if u.CompletionTokens != 12 {
			t.Errorf("finish_reason length after %d tokens, want 12", u.CompletionTokens)
		}
	case "stop":
		if u.CompletionTokens >= 12 {
			t.Errorf("finish_reason stop after %d tokens", u.CompletionTokens)
		}
	default:
		t.Errorf("finish_reason %q", ch.FinishReason)
	}
	if plain.Object != "chat.completion" || !strings.HasPrefix(plain.ID, "chatcmpl-") || plain.Model != s.ModelName() {
		t.Errorf("object %q id %q model %q", plain.Object, plain.ID, plain.Model)
	}

	// The same request streamed, with usage: the same text (greedy), and
	// the cache of the slot now holds the prompt.
	params := greedyChat(s.ModelName(), 12)
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	var finish string
	var usage *openai.CompletionUsage
	chunks := 0
	for stream.Next() {
		chunk := stream.Current()
		chunks++
		for _, ch := range chunk.Choices {
			text.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		if chunk.Usage.TotalTokens > 0 {
			u := chunk.Usage
			usage = &u
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != ch.Message.Content {
		t.Errorf("streamed %q, plain %q: want the same greedy reply", text.String(), ch.Message.Content)
	}
	if finish != ch.FinishReason {
		t.Errorf("streamed finish_reason %q, plain %q", finish, ch.FinishReason)
	}
	if chunks < 3 {
		t.Errorf("%d chunks: want the role, the tokens, the finish and the usage", chunks)
	}
	if usage == nil {
		t.Fatal("no usage chunk despite stream_options.include_usage")
	}
	if usage.PromptTokens != u.PromptTokens || usage.CompletionTokens != u.CompletionTokens {
		t.Errorf("streamed usage %+v, plain %+v", *usage, u)
	}
	// The second identical prompt found it in the slot's cache.
	if got := usage.PromptTokensDetails.CachedTokens; got < u.PromptTokens-1 {
		t.Errorf("cached_tokens %d of %d: the repeated prompt should come from the slot's cache", got, u.PromptTokens)
	}
}

func TestCompletionMatchesLibrary(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1})
	m := sharedModel(t)
	c := client(hs)
	ctx := context.Background()
	const prompt = "Once upon a time"

	var want strings.Builder
	greedy := sampler.DefaultParams()
	greedy.Temp = 0
	st, err := m.Generate(ctx, prompt, infer.GenerateOptions{Sampler: greedy, MaxTokens: 10, NoContextShift: true}, func(p string) bool {
		want.WriteString(p)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		prompt openai.CompletionNewParamsPromptUnion
	}{
		{"string", openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)}},
		{"token ids", openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: toInt64(m.Tokenize(prompt, true, true))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Completions.New(ctx, openai.CompletionNewParams{
				Model: openai.CompletionNewParamsModel(s.ModelName()), Prompt: tc.prompt,
				MaxTokens: openai.Int(10), Temperature: openai.Float(0),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Choices) != 1 || res.Choices[0].Text != want.String() {
				t.Fatalf("choices %+v, want the library's greedy text %q", res.Choices, want.String())
			}
			if res.Usage.PromptTokens != int64(st.PromptTokens) || res.Usage.CompletionTokens != int64(st.GeneratedTokens) {
				t.Errorf("usage %+v, the library: %d prompt, %d generated", res.Usage, st.PromptTokens, st.GeneratedTokens)
			}
			if res.Object != "text_completion" {
				t.Errorf("object %q", res.Object)
			}
		})
	}

	t.Run("streamed", func(t *testing.T) {
		stream := c.Completions.NewStreaming(ctx, openai.CompletionNewParams{
			Model: openai.CompletionNewParamsModel(s.ModelName()), Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
			MaxTokens: openai.Int(10), Temperature: openai.Float(0),
		})
		var got strings.Builder
		for stream.Next() {
			for _, ch := range stream.Current().Choices {
				got.WriteString(ch.Text)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("streamed %q, want %q", got.String(), want.String())
		}
	})
}

func toInt64(ids []int32) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

func TestModels(t *testing.T) {
	s, hs := startServer(t, Config{ModelName: "tiny"})
	c := client(hs)
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "tiny" || s.ModelName() != "tiny" {
		t.Fatalf("models %+v, want one: tiny", page.Data)
	}
	// The alias and the file's base name are both accepted.
	for _, name := range []string{"tiny", "tiny-llama-256-q8_0", "tiny-llama-256-q8_0.gguf", ""} {
		if _, err := cl(hs).Chat.Completions.New(context.Background(), greedyChat(name, 2)); err != nil {
			t.Errorf("model %q: %v", name, err)
		}
	}
}

// TestConversationKeepsItsSlot checks slot choice: the second turn of a
// conversation goes back to the slot holding the first, even after another
// conversation used the other slot, and evaluates only its new tokens.
func TestConversationKeepsItsSlot(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 2, ContextLength: 512})
	c := client(hs)
	ctx := context.Background()
	turn1 := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You answer questions about the sea."), openai.UserMessage("Why is the sea salty?")}
	r1, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: s.ModelName(), Messages: turn1, MaxTokens: openai.Int(8), Temperature: openai.Float(0)})
	if err != nil {
		t.Fatal(err)
	}
	other := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Name a colour.")}
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: s.ModelName(), Messages: other, MaxTokens: openai.Int(8), Temperature: openai.Float(0)}); err != nil {
		t.Fatal(err)
	}
	turn2 := append(turn1, openai.AssistantMessage(r1.Choices[0].Message.Content), openai.UserMessage("And the rivers?"))
	r2, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: s.ModelName(), Messages: turn2, MaxTokens: openai.Int(8), Temperature: openai.Float(0)})
	if err != nil {
		t.Fatal(err)
	}
	cached := r2.Usage.PromptTokensDetails.CachedTokens
	if cached < r1.Usage.PromptTokens {
		t.Errorf("turn 2: %d of %d prompt tokens cached, want at least turn 1's prompt (%d)", cached, r2.Usage.PromptTokens, r1.Usage.PromptTokens)
	}
	t.Logf("turn 1: %d prompt tokens; turn 2: %d, of them %d cached", r1.Usage.PromptTokens, r2.Usage.PromptTokens, cached)
}

// TestConcurrentRequestsQueue sends more requests than slots at once: all
// succeed, some waited, and every slot is free at the end.
func TestConcurrentRequestsQueue(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 2, Queue: 16})
	c := client(hs)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := greedyChat(s.ModelName(), 16)
			p.Messages = append(p.Messages, openai.UserMessage(fmt.Sprintf("Request %d.", i)))
			p.Temperature = openai.Float(0.8)
			p.Seed = openai.Int(int64(i))
			res, err := c.Chat.Completions.New(context.Background(), p, option.WithJSONSet("ignore_eos", true))
			if err == nil && res.Usage.CompletionTokens != 16 {
				err = fmt.Errorf("%d tokens with ignore_eos, want 16", res.Usage.CompletionTokens)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st := s.Stats()
	if st.Busy != 0 || st.Queued != 0 {
		t.Errorf("after the requests: %+v, want every slot free", st)
	}
	if st.PeakQueued == 0 {
		t.Errorf("%d requests on %d slots and none waited", n, st.Slots)
	}
	t.Logf("peak queue %d", st.PeakQueued)
}

// TestQueueFull: with one slot busy and the one queue place taken, the
// next request gets 503 with Retry-After.
func TestQueueFull(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1, Queue: 1})
	c := client(hs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := greedyChat(s.ModelName(), 200)
	stream := c.Chat.Completions.NewStreaming(ctx, long, option.WithJSONSet("ignore_eos", true))
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	queued := make(chan error, 1)
	go func() {
		_, err := c.Chat.Completions.New(ctx, greedyChat(s.ModelName(), 2))
		queued <- err
	}()
	waitFor(t, func() bool { return s.Stats().Queued == 1 }, "the second request to queue")

	resp := post(t, hs, "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}`)
	e := expectError(t, resp, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" || e.Type != "unavailable_error" {
		t.Errorf("503 with Retry-After %q, type %q", resp.Header.Get("Retry-After"), e.Type)
	}
	cancel() // the streaming request, and so the queued one gets the slot
	stream.Close()
	err := <-queued
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("queued request: %v", err)
	}
	waitFor(t, func() bool { return s.Stats().Busy == 0 }, "the slot to be free")
}

// TestCancelMidStream: a client that goes away mid-stream frees its slot
// at once.
func TestCancelMidStream(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1})
	c := client(hs)
	ctx, cancel := context.WithCancel(context.Background())
	stream := c.Chat.Completions.NewStreaming(ctx, greedyChat(s.ModelName(), 240), option.WithJSONSet("ignore_eos", true))
	for range 3 {
		if !stream.Next() {
			t.Fatalf("stream ended early: %v", stream.Err())
		}
	}
	if got := s.Stats().Busy; got != 1 {
		t.Fatalf("%d slots busy while streaming, want 1", got)
	}
	start := time.Now()
	cancel()
	stream.Close()
	waitFor(t, func() bool { return s.Stats().Busy == 0 }, "the slot to be freed")
	t.Logf("slot free %v after the client cancelled", time.Since(start))
	metrics := get(t, hs, "/metrics")
	if !strings.Contains(metrics, "\ninfer_slots_busy 0\n") {
		t.Errorf("/metrics does not say infer_slots_busy 0:\n%s", metrics)
	}
	// And the slot serves the next request.
	if _, err := c.Chat.Completions.New(context.Background(), greedyChat(s.ModelName(), 4)); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: the machine may be shared
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type apiErr struct {
	Message, Type, Param, Code string
}

func post(t *testing.T, hs *httptest.Server, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func get(t *testing.T, hs *httptest.Server, path string) string {
	t.Helper()
	resp, err := http.Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}

// expectError checks resp is status with OpenAI's error JSON.
func expectError(t *testing.T, resp *http.Response, status int) apiErr {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Message == "" || eb.Error.Type == "" {
		t.Errorf("not OpenAI's error JSON (%v): %s", err, b)
	}
	e := apiErr{Message: eb.Error.Message, Type: eb.Error.Type}
	if eb.Error.Param != nil {
		e.Param = *eb.Error.Param
	}
	if eb.Error.Code != nil {
		e.Code = *eb.Error.Code
	}
	return e
}

func TestBadRequests(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1, MaxBodyBytes: 64 << 10, MaxTokensLimit: 100})
	long := strings.Repeat("the sea is salty ", 200) // far beyond 256 tokens
	for _, tc := range []struct {
		name, path, body string
		status           int
		param, code      string
	}{
		{"bad JSON", "/v1/chat/completions", `{"messages": [`, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1, 2]`, 400, "", ""},
		{"empty body", "/v1/chat/completions", ``, 400, "", ""},
		{"messages a string", "/v1/chat/completions", `{"messages": "hi"}`, 400, "messages", ""},
		{"no messages", "/v1/chat/completions", `{"messages": []}`, 400, "messages", ""},
		{"content a number", "/v1/chat/completions", `{"messages": [{"role": "user", "content": 5}]}`, 400, "messages", ""},
		{"temperature a string", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}`, 400, "temperature", ""},
		{"max_tokens fractional", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1.5}`, 400, "max_tokens", ""},
		{"max_tokens above the limit", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}`, 400, "max_tokens", ""},
		{"negative temperature", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "temperature": -1}`, 400, "temperature", ""},
		{"top_p above 1", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "top_p": 1.5}`, 400, "top_p", ""},
		{"mirostat 3", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "mirostat": 3}`, 400, "mirostat", ""},
		{"n = 2", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "n": 2}`, 400, "n", ""},
		{"stop a number", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "stop": 7}`, 400, "stop", ""},
		{"logit_bias token outside", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"99999999": 5}}`, 400, "logit_bias", ""},
		{"logit_bias not a number", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"12": "x"}}`, 400, "logit_bias", ""},
		{"logprobs", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "logprobs": true}`, 400, "logprobs", ""},
		{"json schema", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}`, 400, "response_format", ""},
		{"unknown model", "/v1/chat/completions", `{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}`, 404, "model", "model_not_found"},
		{"prompt too long", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "` + long + `"}]}`, 400, "messages", "context_length_exceeded"},
		{"completion prompt too long", "/v1/completions", `{"prompt": "` + long + `"}`, 400, "prompt", "context_length_exceeded"},
		{"completion without prompt", "/v1/completions", `{"max_tokens": 3}`, 400, "prompt", ""},
		{"completion token outside", "/v1/completions", `{"prompt": [1, 40000]}`, 400, "prompt", ""},
		{"completion prompt an object", "/v1/completions", `{"prompt": {"a": 1}}`, 400, "prompt", ""},
		{"body too large", "/v1/chat/completions", `{"messages": [{"role": "user", "content": "` + strings.Repeat("x", 70<<10) + `"}]}`, 413, "", "request_too_large"},
		{"tokenize without content", "/tokenize", `{}`, 400, "content", ""},
		{"detokenize outside", "/detokenize", `{"tokens": [-1]}`, 400, "tokens", ""},
		{"detokenize wrong type", "/detokenize", `{"tokens": "abc"}`, 400, "tokens", ""},
		{"unknown path", "/v1/embeddings", `{}`, 404, "", "unknown_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := expectError(t, post(t, hs, tc.path, tc.body), tc.status)
			if e.Param != tc.param || e.Code != tc.code {
				t.Errorf("param %q code %q, want %q %q (%s)", e.Param, e.Code, tc.param, tc.code, e.Message)
			}
		})
	}
	resp, err := http.Get(hs.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, http.StatusMethodNotAllowed)

	// The real client sees the errors as API errors with their status.
	_, err = cl(hs).Chat.Completions.New(context.Background(), greedyChat("no-such-model", 2))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Param != "model" {
		t.Errorf("unknown model through the client: %v", err)
	}
	tooLong := greedyChat(s.ModelName(), 2)
	tooLong.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)}
	_, err = cl(hs).Chat.Completions.New(context.Background(), tooLong)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
		t.Errorf("oversize prompt through the client: %v", err)
	}
	// And the server still serves.
	if _, err := cl(hs).Chat.Completions.New(context.Background(), greedyChat(s.ModelName(), 3)); err != nil {
		t.Fatalf("after the bad requests: %v", err)
	}
	if st := s.Stats(); st.Busy != 0 {
		t.Errorf("%+v after the bad requests", st)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	_, hs := startServer(t, Config{})
	m := sharedModel(t)
	const text = "Hello, world! Grüße"
	resp := post(t, hs, "/tokenize", `{"content": "`+text+`", "add_special": true}`)
	var tk struct {
		Tokens []int32 `json:"tokens"`
	}
	decodeOK(t, resp, &tk)
	want := m.Tokenize(text, true, true)
	if fmt.Sprint(tk.Tokens) != fmt.Sprint(want) {
		t.Fatalf("tokens %v, want %v", tk.Tokens, want)
	}
	b, _ := json.Marshal(map[string]any{"tokens": tk.Tokens[1:]}) // without the BOS
	var dt struct {
		Content string `json:"content"`
	}
	decodeOK(t, post(t, hs, "/detokenize", string(b)), &dt)
	if dt.Content != text {
		t.Errorf("detokenized %q, want %q", dt.Content, text)
	}
	var pieces struct {
		Tokens []struct {
			ID    int32 `json:"id"`
			Piece any   `json:"piece"`
		} `json:"tokens"`
	}
	decodeOK(t, post(t, hs, "/tokenize", `{"content": "Hello", "with_pieces": true}`), &pieces)
	var joined strings.Builder
	for _, p := range pieces.Tokens {
		s, _ := p.Piece.(string)
		joined.WriteString(s)
	}
	if strings.TrimSpace(joined.String()) != "Hello" {
		t.Errorf("pieces %+v do not spell Hello", pieces.Tokens)
	}
}

func decodeOK(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func TestAPIKey(t *testing.T) {
	s, hs := startServer(t, Config{APIKey: "sesame"})
	_, err := cl(hs).Chat.Completions.New(context.Background(), greedyChat(s.ModelName(), 2))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong key: %v, want 401", err)
	}
	if _, err := cl(hs, option.WithAPIKey("sesame")).Chat.Completions.New(context.Background(), greedyChat(s.ModelName(), 2)); err != nil {
		t.Fatalf("right key: %v", err)
	}
	get(t, hs, "/health") // open to load balancers
}

func TestGateAndHealth(t *testing.T) {
	g := NewGate()
	hs := httptest.NewServer(g)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, resp, http.StatusServiceUnavailable)
	s, err := New(sharedModel(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g.Ready(s)
	if got := get(t, hs, "/health"); !strings.Contains(got, `"status":"ok"`) {
		t.Errorf("/health: %s", got)
	}
}

func TestMetrics(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 2})
	if _, err := cl(hs).Chat.Completions.New(context.Background(), greedyChat(s.ModelName(), 5), option.WithJSONSet("ignore_eos", true)); err != nil {
		t.Fatal(err)
	}
	post(t, hs, "/v1/chat/completions", `{bad`).Body.Close()
	text := get(t, hs, "/metrics")
	for _, want := range []string{
		`infer_requests_total{endpoint="/v1/chat/completions",status="200"} 1`,
		`infer_requests_total{endpoint="/v1/chat/completions",status="400"} 1`,
		"\ninfer_slots 2\n", "\ninfer_slots_busy 0\n", "\ninfer_queue_length 0\n",
		"\ninfer_kv_cache_capacity_tokens 256\n",
		"\ninfer_request_duration_seconds_count 1\n", "\ninfer_time_to_first_token_seconds_count 1\n",
		`infer_request_duration_seconds_bucket{le="+Inf"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Every sample line is "name[{labels}] number".
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var v float64
		i := strings.LastIndexByte(line, ' ')
		if _, err := fmt.Sscan(line[i+1:], &v); i < 0 || err != nil {
			t.Errorf("bad sample line %q", line)
		}
	}
	if !strings.Contains(text, "infer_generated_tokens_total 5") {
		t.Errorf("generated tokens not counted:\n%s", text)
	}
}

func TestTimeout(t *testing.T) {
	s, hs := startServer(t, Config{Parallel: 1, Timeout: 30 * time.Millisecond})
	// Generating: 240 tokens take far longer than 30 ms.
	resp := post(t, hs, "/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 240, "ignore_eos": true}`)
	if e := expectError(t, resp, http.StatusServiceUnavailable); e.Type != "timeout_error" {
		t.Errorf("type %q, want timeout_error (%s)", e.Type, e.Message)
	}
	waitFor(t, func() bool { return s.Stats().Busy == 0 }, "the slot to be free")
}

// TestPanicRecovered: a handler that panics gets a 500 with OpenAI's error
// JSON, and the server goes on serving.
func TestPanicRecovered(t *testing.T) {
	s, hs := startServer(t, Config{})
	s.mux.HandleFunc("GET /test-panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	resp, err := http.Get(hs.URL + "/test-panic")
	if err != nil {
		t.Fatal(err)
	}
	if e := expectError(t, resp, http.StatusInternalServerError); e.Type != "server_error" {
		t.Errorf("type %q", e.Type)
	}
	get(t, hs, "/health")
}

// TestToolsReachTheTemplate: tools are passed to the chat template with
// their keys in the client's order.
func TestToolsReachTheTemplate(t *testing.T) {
	tmpl := filepath.Join(t.TempDir(), "tools.jinja")
	src := `{%- if tools %}TOOLS {{ tools | tojson }}
{% endif -%}
{%- for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }}
{% endfor %}<|assistant|>`
	if err := os.WriteFile(tmpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, hs := startServer(t, Config{ChatTemplate: tmpl})
	m := sharedModel(t)
	const tools = `[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]`
	resp := post(t, hs, "/v1/chat/completions", `{"messages": [{"role": "user", "content": "Weather in Paris?"}], "max_tokens": 1, "tools": `+tools+`}`)
	var res struct {
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	decodeOK(t, resp, &res)
	want := "TOOLS " + `[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]` +
		"\n<|user|> Weather in Paris?\n<|assistant|>"
	if n := len(m.TokenizeChat(want)); res.Usage.PromptTokens != n {
		t.Errorf("prompt of %d tokens, want %d: the rendering of %q", res.Usage.PromptTokens, n, want)
	}
	if name, guessed := s.ChatFormat(); name != tmpl || guessed {
		t.Errorf("format %q guessed %v", name, guessed)
	}
}
