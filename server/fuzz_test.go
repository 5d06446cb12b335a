package server

import (
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the request decoders: they
// must never panic, must answer every failure with a 4xx naming what is
// wrong, and whatever they accept must give sampler settings that pass
// Validate.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0.7, "stream": true, "stream_options": {"include_usage": true}}`,
		`{"messages": [{"role": "system", "content": null}, {"role": "user", "content": [{"type": "text", "text": "a"}]}], "stop": ["\n", "User:"], "logit_bias": {"15043": -100, "2": false}}`,
		`{"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}`,
		`{"prompt": "Once upon a time", "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1, "repeat_last_n": 64, "dry_multiplier": 0.8, "dry_sequence_breakers": ["\n"], "xtc_probability": 0.5, "mirostat": 2, "seed": -1}`,
		`{"prompt": [1, 2, 3], "n": 1, "logit_bias": [[5, 1.5], [6, false]], "ignore_eos": true, "max_completion_tokens": 4}`,
		`{"prompt": [[1, 2]], "stop": "x"}`,
		`{"messages": "hi", "temperature": "hot"}`,
		`[1, 2`,
		`{"n": 2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(what string, e *apiError) {
			if e != nil && (e.Status < 400 || e.Status > 499 || e.Message == "" || e.Type == "") {
				t.Fatalf("%s: error %+v: want a 4xx with a message and a type", what, e)
			}
		}
		if req, e := decodeChatRequest(body); e != nil {
			check("chat", e)
		} else {
			opts, e := req.generateOptions(0, 32000)
			check("chat options", e)
			if e == nil {
				if err := opts.Sampler.Validate(); err != nil {
					t.Fatalf("chat: accepted settings fail Validate: %v", err)
				}
			}
		}
		if req, e := decodeCompletionRequest(body); e != nil {
			check("completion", e)
		} else {
			opts, e := req.generateOptions(100, 32000)
			check("completion options", e)
			if e == nil && (opts.MaxTokens < 1 || opts.MaxTokens > 100) {
				t.Fatalf("completion: max tokens %d outside the limit of 100", opts.MaxTokens)
			}
		}
	})
}
