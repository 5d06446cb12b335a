package server

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestLoad is a bounded load test on 127.0.0.1, run when INFER_LOAD_TEST is
// set (INFER_LOAD_TEST=1 go test -run TestLoad -v ./server/): 200 streamed
// chat requests from 16 concurrent clients on 4 slots, each asking for 16
// tokens. It reports requests/s, latency and time-to-first-token
// percentiles and tokens/s, and fails on any failed request, a slot left
// busy, or a queue left non-empty. INFER_LOAD_REQUESTS and
// INFER_LOAD_CLIENTS change the counts; the whole run is bounded by 5
// minutes.
func TestLoad(t *testing.T) {
	if os.Getenv("INFER_LOAD_TEST") == "" {
		t.Skip("load test: set INFER_LOAD_TEST=1 to run it")
	}
	requests, clients := envInt(t, "INFER_LOAD_REQUESTS", 200), envInt(t, "INFER_LOAD_CLIENTS", 16)
	const slots, maxTokens = 4, 16
	s, hs := startServer(t, Config{Parallel: slots, ContextLength: slots * 256, Queue: clients})
	c := client(hs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	type result struct {
		latency, ttft time.Duration
		tokens        int64
		err           error
	}
	results := make([]result, requests)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range requests {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for client := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := openai.ChatCompletionNewParams{
					Model: s.ModelName(),
					Messages: []openai.ChatCompletionMessageParamUnion{
						openai.SystemMessage("You are a helpful assistant."),
						openai.UserMessage(fmt.Sprintf("Client %d asks question %d.", client, i)),
					},
					MaxTokens:     openai.Int(maxTokens),
					Seed:          openai.Int(int64(i)),
					StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
				}
				t0 := time.Now()
				stream := c.Chat.Completions.NewStreaming(ctx, p, option.WithJSONSet("ignore_eos", true))
				var r result
				for stream.Next() {
					ch := stream.Current()
					if r.ttft == 0 && len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
						r.ttft = time.Since(t0)
					}
					if ch.Usage.CompletionTokens > 0 {
						r.tokens = ch.Usage.CompletionTokens
					}
				}
				r.latency, r.err = time.Since(t0), stream.Err()
				if r.err == nil && r.tokens != maxTokens {
					r.err = fmt.Errorf("request %d: %d tokens, want %d", i, r.tokens, maxTokens)
				}
				results[i] = r
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("the load test ran past its time bound")
	}

	var lat, ttft []time.Duration
	var tokens int64
	for i, r := range results {
		if r.err != nil {
			t.Errorf("request %d: %v", i, r.err)
			continue
		}
		lat, ttft = append(lat, r.latency), append(ttft, r.ttft)
		tokens += r.tokens
	}
	st := s.Stats()
	if st.Busy != 0 || st.Queued != 0 {
		t.Errorf("after the load: %+v: a slot or a queue place leaked", st)
	}
	slices.Sort(lat)
	slices.Sort(ttft)
	t.Logf("%d requests, %d clients, %d slots, %d tokens each: %.1f s, %.1f requests/s, %.0f generated tokens/s",
		len(lat), clients, slots, maxTokens, elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(), float64(tokens)/elapsed.Seconds())
	t.Logf("latency p50 %v p99 %v max %v; time to first token p50 %v p99 %v; peak queue %d; failures %d",
		pct(lat, 50), pct(lat, 99), pct(lat, 100), pct(ttft, 50), pct(ttft, 99), st.PeakQueued, requests-len(lat))
	for _, line := range strings.Split(get(t, hs, "/metrics"), "\n") {
		if strings.HasPrefix(line, "infer_") && !strings.HasPrefix(line, "infer_requests_total") {
			t.Log(line)
		}
	}
}

// pct is the p-th percentile (nearest rank) of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[max(i-1, 0)].Round(100 * time.Microsecond)
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
