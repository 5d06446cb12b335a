package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infer-go/infer/internal/testref"
)

// syncBuffer collects a goroutine's log while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs serve on a free port of 127.0.0.1 until the returned
// stop is called; stop returns serve's error.
func startServe(t *testing.T, args ...string) (base string, log *syncBuffer, stop func() error) {
	t.Helper()
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	log = new(syncBuffer)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-m", model, "--port", "0", "-t", "2"}, args...), log, func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, log.String())
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not return after the stop:\n%s", log.String())
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	// Ready once /health says so (503 while the model loads).
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/health: %s", resp.Status)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never healthy:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return base, log, stop
}

func openaiClient(base string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(base + "/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0)}, opts...)...)
	return &c
}

// TestServeShutdownLetsRequestsFinish: a stop (what SIGTERM does) while a
// reply streams lets it finish within the grace period, then serve returns
// nil and the port is closed; every request was logged as one JSON line.
func TestServeShutdownLetsRequestsFinish(t *testing.T) {
	base, log, stop := startServe(t, "--parallel", "2", "--log-format", "json", "--alias", "tiny", "--grace", "20s")
	c := openaiClient(base)
	ctx := context.Background()
	res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}, MaxTokens: openai.Int(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "tiny" || len(res.Choices) != 1 {
		t.Fatalf("reply %+v", res)
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story")}, MaxTokens: openai.Int(100),
	}, option.WithJSONSet("ignore_eos", true))
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	finish := ""
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("the running reply was cut by the shutdown: %v", err)
	}
	if finish != "length" {
		t.Errorf("finish_reason %q, want length (100 tokens, ignore_eos)", finish)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve after the stop: %v", err)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("still accepting connections after the shutdown")
	}

	var sawChat bool
	sc := bufio.NewScanner(strings.NewReader(log.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if line["msg"] == "request" && line["path"] == "/v1/chat/completions" {
			sawChat = true
			for _, k := range []string{"method", "status", "ms", "prompt_tokens", "completion_tokens"} {
				if _, ok := line[k]; !ok {
					t.Errorf("request log line without %s: %s", k, sc.Text())
				}
			}
		}
	}
	if !sawChat {
		t.Errorf("no request line for the chat in the log:\n%s", log.String())
	}
}

// TestServeGraceExpires: a reply still running when the grace period ends
// is cancelled (the client gets an error event) and serve still returns nil.
func TestServeGraceExpires(t *testing.T) {
	base, _, stop := startServe(t, "--grace", "1ms")
	c := openaiClient(base)
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a long story")},
	}, option.WithJSONSet("ignore_eos", true))
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("stream ended with %v, want the shutdown's error event", err)
	}
	t.Logf("stopped %v after the signal", time.Since(start))
}

// TestServeAPIKeyFromEnv: $INFER_API_KEY is the key when --api-key is not given.
func TestServeAPIKeyFromEnv(t *testing.T) {
	t.Setenv("INFER_API_KEY", "sesame")
	base, _, _ := startServe(t)
	req := openai.ChatCompletionNewParams{Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}, MaxTokens: openai.Int(2)}
	if _, err := openaiClient(base).Chat.Completions.New(context.Background(), req); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the key: %v, want 401", err)
	}
	if _, err := openaiClient(base, option.WithAPIKey("sesame")).Chat.Completions.New(context.Background(), req); err != nil {
		t.Errorf("with the key: %v", err)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},                                  // no model
		{"-m", "x.gguf", "--parallel", "0"}, // no slot
		{"-m", "x.gguf", "--log-format", "xml"},
		{"-m", "x.gguf", "--port", "70000"},
		{"-m", "x.gguf", "extra"},
	} {
		_, stderr, code := runCmd(t, append([]string{"serve"}, args...)...)
		if code != 2 {
			t.Errorf("infer serve %q: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}
