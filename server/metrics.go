package server

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// metrics are the counters GET /metrics reports in Prometheus's text format
// (version 0.0.4). Counters only grow; rates (tokens/s, requests/s) are for
// the scraper to take, and the *_seconds_total counters make them exact.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
	// durations of generation requests (chat and completions, answered
	// 200) and the time to their first token, streamed or not.
	duration, firstToken histogram
	counters
}

// latencyBuckets are the histograms' upper bounds in seconds: from a
// cached one-token reply on a fast machine to a long reply on a Pi.
var latencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// histogram is a Prometheus histogram over latencyBuckets.
type histogram struct {
	counts [len(latencyBuckets) + 1]uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func (h *histogram) observe(d time.Duration) {
	v := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && v > latencyBuckets[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name string) {
	var cum uint64
	for i, le := range latencyBuckets {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, le, cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, h.n, name, h.sum, name, h.n)
}

// counters are the scalar counters, copied out for a scrape.
type counters struct {
	promptTokens    uint64 // prompt tokens of finished generations
	cachedTokens    uint64 // of them, reused from a slot's cache
	generatedTokens uint64
	promptSeconds   float64 // evaluating the uncached prompt tokens
	genSeconds      float64 // generating
	rejected        uint64  // requests refused because the queue was full
	lastGenTPS      float64 // tokens/s of the last generation
}

type requestKey struct {
	endpoint string
	status   int
}

func newMetrics() *metrics { return &metrics{requests: map[requestKey]uint64{}} }

func (m *metrics) countRequest(endpoint string, status int) {
	m.mu.Lock()
	m.requests[requestKey{endpoint, status}]++
	m.mu.Unlock()
}

func (m *metrics) countGeneration(prompt, cached, generated int, promptEval, gen time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.promptTokens += uint64(prompt)
	m.cachedTokens += uint64(cached)
	m.generatedTokens += uint64(generated)
	m.promptSeconds += promptEval.Seconds()
	m.genSeconds += gen.Seconds()
	if generated > 0 && gen > 0 {
		m.lastGenTPS = float64(generated) / gen.Seconds()
	}
}

// observeLatency records a finished generation request: its duration and
// the time from its arrival to its first token (firstToken 0: none).
func (m *metrics) observeLatency(total, firstToken time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.duration.observe(total)
	if firstToken > 0 {
		m.firstToken.observe(firstToken)
	}
}

func (m *metrics) countRejected() {
	m.mu.Lock()
	m.rejected++
	m.mu.Unlock()
}

// gauges are the values read at scrape time.
type gauges struct {
	slots, busy, queued   int
	queueLimit            int
	cachedTokens, ctxSize int // tokens held by all caches, and their capacity
	kvBytes               int64
}

func (m *metrics) write(w io.Writer, g gauges) {
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].endpoint != keys[j].endpoint {
			return keys[i].endpoint < keys[j].endpoint
		}
		return keys[i].status < keys[j].status
	})
	counts := make([]uint64, len(keys))
	for i, k := range keys {
		counts[i] = m.requests[k]
	}
	c, duration, firstToken := m.counters, m.duration, m.firstToken
	m.mu.Unlock()

	family := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("infer_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
	for i, k := range keys {
		fmt.Fprintf(w, "infer_requests_total{endpoint=%q,status=\"%d\"} %d\n", k.endpoint, k.status, counts[i])
	}
	family("infer_requests_rejected_total", "counter", "Requests refused with 503 because every slot was busy and the queue full.")
	fmt.Fprintf(w, "infer_requests_rejected_total %d\n", c.rejected)
	family("infer_prompt_tokens_total", "counter", "Prompt tokens of finished generations.")
	fmt.Fprintf(w, "infer_prompt_tokens_total %d\n", c.promptTokens)
	family("infer_prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's KV cache instead of evaluated.")
	fmt.Fprintf(w, "infer_prompt_tokens_cached_total %d\n", c.cachedTokens)
	family("infer_generated_tokens_total", "counter", "Tokens generated.")
	fmt.Fprintf(w, "infer_generated_tokens_total %d\n", c.generatedTokens)
	family("infer_prompt_seconds_total", "counter", "Time spent evaluating prompt tokens.")
	fmt.Fprintf(w, "infer_prompt_seconds_total %g\n", c.promptSeconds)
	family("infer_generation_seconds_total", "counter", "Time spent generating tokens.")
	fmt.Fprintf(w, "infer_generation_seconds_total %g\n", c.genSeconds)
	family("infer_prompt_tokens_per_second", "gauge", "Prompt tokens evaluated per second, over the server's life.")
	fmt.Fprintf(w, "infer_prompt_tokens_per_second %g\n", ratio(float64(c.promptTokens-c.cachedTokens), c.promptSeconds))
	family("infer_generation_tokens_per_second", "gauge", "Tokens generated per second, over the server's life (per slot: slots run concurrently).")
	fmt.Fprintf(w, "infer_generation_tokens_per_second %g\n", ratio(float64(c.generatedTokens), c.genSeconds))
	family("infer_last_generation_tokens_per_second", "gauge", "Tokens per second of the last finished generation.")
	fmt.Fprintf(w, "infer_last_generation_tokens_per_second %g\n", c.lastGenTPS)
	family("infer_request_duration_seconds", "histogram", "Duration of the chat and completion requests answered in full, queueing included.")
	duration.write(w, "infer_request_duration_seconds")
	family("infer_time_to_first_token_seconds", "histogram", "From a chat or completion request's arrival to its first generated token, queueing included.")
	firstToken.write(w, "infer_time_to_first_token_seconds")
	family("infer_slots", "gauge", "Slots (sessions with their own KV cache).")
	fmt.Fprintf(w, "infer_slots %d\n", g.slots)
	family("infer_slots_busy", "gauge", "Slots running a request.")
	fmt.Fprintf(w, "infer_slots_busy %d\n", g.busy)
	family("infer_queue_length", "gauge", "Requests waiting for a slot.")
	fmt.Fprintf(w, "infer_queue_length %d\n", g.queued)
	family("infer_queue_limit", "gauge", "Most requests that may wait for a slot; beyond it: 503.")
	fmt.Fprintf(w, "infer_queue_limit %d\n", g.queueLimit)
	family("infer_kv_cache_tokens", "gauge", "Tokens held by the slots' KV caches (as of each slot's last release).")
	fmt.Fprintf(w, "infer_kv_cache_tokens %d\n", g.cachedTokens)
	family("infer_kv_cache_capacity_tokens", "gauge", "Positions all slots' KV caches hold together.")
	fmt.Fprintf(w, "infer_kv_cache_capacity_tokens %d\n", g.ctxSize)
	family("infer_kv_cache_usage_ratio", "gauge", "infer_kv_cache_tokens / infer_kv_cache_capacity_tokens.")
	fmt.Fprintf(w, "infer_kv_cache_usage_ratio %g\n", ratio(float64(g.cachedTokens), float64(g.ctxSize)))
	family("infer_kv_cache_bytes", "gauge", "Memory of all slots' KV caches.")
	fmt.Fprintf(w, "infer_kv_cache_bytes %d\n", g.kvBytes)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
