//go:build unix

package main

import (
	"context"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/infer-go/infer/internal/testref"
)

// TestServeSIGTERM runs `infer serve` as its own process: it answers a
// request, and SIGTERM makes it exit 0.
func TestServeSIGTERM(t *testing.T) {
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	cmd, _, stderr := startInfer(t, "serve", "-m", model, "--port", "0", "-t", "1")
	defer cmd.Process.Kill()
	addrRE := regexp.MustCompile(`addr=(http://127\.0\.0\.1:\d+)`)
	var base string
	if !waitFor(30*time.Second, func() bool {
		m := addrRE.FindStringSubmatch(stderr.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("no listening line:\n%s", stderr.String())
	}
	if !waitFor(30*time.Second, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("never healthy:\n%s", stderr.String())
	}
	_, err := openaiClient(base).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}, MaxTokens: openai.Int(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(err); code != 0 {
			t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM:\n%s", stderr.String())
	}
}
