package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/sampler"
)

// The request bodies of /v1/chat/completions and /v1/completions: OpenAI's
// fields, and llama-server's sampling extras under llama-server's names.
// Pointers tell a field left out from a zero; unknown fields are ignored,
// as OpenAI's clients send fields a local server need not know.

// generationRequest holds the fields both endpoints share.
type generationRequest struct {
	Model         string         `json:"model"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options"`

	MaxTokens           *int   `json:"max_tokens"`
	MaxCompletionTokens *int   `json:"max_completion_tokens"`
	NPredict            *int   `json:"n_predict"` // llama-server's name
	N                   *int   `json:"n"`
	User                string `json:"user"`

	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"top_p"`
	Seed             *int64         `json:"seed"`
	Stop             stopList       `json:"stop"`
	FrequencyPenalty *float64       `json:"frequency_penalty"`
	PresencePenalty  *float64       `json:"presence_penalty"`
	LogitBias        logitBiasField `json:"logit_bias"`

	TopK                *int     `json:"top_k"`
	MinP                *float64 `json:"min_p"`
	TypicalP            *float64 `json:"typical_p"`
	RepeatPenalty       *float64 `json:"repeat_penalty"`
	RepeatLastN         *int     `json:"repeat_last_n"`
	DRYMultiplier       *float64 `json:"dry_multiplier"`
	DRYBase             *float64 `json:"dry_base"`
	DRYAllowedLength    *int     `json:"dry_allowed_length"`
	DRYPenaltyLastN     *int     `json:"dry_penalty_last_n"`
	DRYSequenceBreakers []string `json:"dry_sequence_breakers"`
	XTCProbability      *float64 `json:"xtc_probability"`
	XTCThreshold        *float64 `json:"xtc_threshold"`
	DynatempRange       *float64 `json:"dynatemp_range"`
	DynatempExponent    *float64 `json:"dynatemp_exponent"`
	Mirostat            *int     `json:"mirostat"`
	MirostatTau         *float64 `json:"mirostat_tau"`
	MirostatEta         *float64 `json:"mirostat_eta"`
	IgnoreEOS           bool     `json:"ignore_eos"`

	// Features infer does not have: a request that asks for them gets a
	// 400 rather than an answer that silently ignores them.
	Logprobs       json.RawMessage `json:"logprobs"`
	ResponseFormat json.RawMessage `json:"response_format"`
	Grammar        string          `json:"grammar"`
	JSONSchema     json.RawMessage `json:"json_schema"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatRequest is a POST /v1/chat/completions body.
type chatRequest struct {
	generationRequest
	Messages messageList `json:"messages"`
	Tools    toolList    `json:"tools"`
}

// completionRequest is a POST /v1/completions body.
type completionRequest struct {
	generationRequest
	Prompt promptField `json:"prompt"`
	Echo   bool        `json:"echo"`
	Suffix string      `json:"suffix"`
}

// Limits on what one request may ask for, far above any honest request:
// each stop string is searched for after every token.
const (
	maxStopStrings   = 16
	maxStopBytes     = 1 << 10
	maxDRYBreakers   = 64
	maxMessages      = 1 << 14
	maxPromptStrings = 1
)

// fieldError is a decoding error that knows the request field at fault.
type fieldError struct {
	param string
	err   error
}

func (e *fieldError) Error() string { return e.param + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// messageList decodes "messages" keeping each message's keys in order
// (chat templates print them).
type messageList []chat.Message

func (l *messageList) UnmarshalJSON(data []byte) error {
	msgs, err := chat.DecodeMessages(data)
	if err != nil {
		return &fieldError{"messages", err}
	}
	*l = msgs
	return nil
}

// toolList decodes "tools" as ordered JSON values (templates print them
// with tojson, whose output must keep the client's key order).
type toolList []any

func (l *toolList) UnmarshalJSON(data []byte) error {
	v, err := chat.DecodeJSON(data)
	if err != nil {
		return &fieldError{"tools", err}
	}
	switch v := v.(type) {
	case nil:
		*l = nil
	case []any:
		*l = v
	default:
		return &fieldError{"tools", errors.New("want an array of tool definitions")}
	}
	return nil
}

// stopList decodes "stop": a string, an array of strings, or null.
type stopList []string

func (l *stopList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	var list []string
	switch {
	case bytes.Equal(data, []byte("null")):
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return &fieldError{"stop", err}
		}
		list = []string{s}
	default:
		if err := json.Unmarshal(data, &list); err != nil {
			return &fieldError{"stop", errors.New("want a string or an array of strings")}
		}
	}
	if len(list) > maxStopStrings {
		return &fieldError{"stop", fmt.Errorf("%d stop strings: at most %d", len(list), maxStopStrings)}
	}
	for _, s := range list {
		if len(s) > maxStopBytes {
			return &fieldError{"stop", fmt.Errorf("a stop string of %d bytes: at most %d", len(s), maxStopBytes)}
		}
	}
	*l = list
	return nil
}

// logitBiasField decodes "logit_bias": OpenAI's object {"token id": bias}
// or llama-server's array [[token id, bias], ...]; a bias of false bans the
// token (-Inf), as in llama-server.
type logitBiasField []sampler.LogitBias

func (f *logitBiasField) UnmarshalJSON(data []byte) error {
	v, err := chat.DecodeJSON(data)
	if err != nil {
		return &fieldError{"logit_bias", err}
	}
	var out []sampler.LogitBias
	add := func(key any, bias any) error {
		var id int64
		switch k := key.(type) {
		case string:
			id, err = strconv.ParseInt(strings.TrimSpace(k), 10, 32)
		case json.Number:
			id, err = strconv.ParseInt(string(k), 10, 32)
		default:
			err = errors.New("not a number")
		}
		if err != nil || id < 0 {
			return &fieldError{"logit_bias", fmt.Errorf("token %v: want a token id (an integer >= 0)", key)}
		}
		var b float64
		switch x := bias.(type) {
		case json.Number:
			b, err = x.Float64()
			if err != nil || math.IsInf(b, 0) {
				return &fieldError{"logit_bias", fmt.Errorf("token %d: bias %s is not a finite number", id, x)}
			}
		case bool:
			if x {
				return &fieldError{"logit_bias", fmt.Errorf("token %d: bias true: want a number, or false to ban the token", id)}
			}
			b = math.Inf(-1)
		default:
			return &fieldError{"logit_bias", fmt.Errorf("token %d: want a number, or false to ban the token", id)}
		}
		out = append(out, sampler.LogitBias{Token: int32(id), Bias: float32(b)})
		return nil
	}
	switch x := v.(type) {
	case nil:
	case chat.Object:
		for _, kv := range x {
			if err := add(kv.Key, kv.Value); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return &fieldError{"logit_bias", errors.New("want an object of token id: bias, or an array of [token id, bias] pairs")}
			}
			if err := add(pair[0], pair[1]); err != nil {
				return err
			}
		}
	default:
		return &fieldError{"logit_bias", errors.New("want an object of token id: bias")}
	}
	*f = out
	return nil
}

// promptField decodes a completion's "prompt": a string, an array of token
// ids, or an array holding one of those (OpenAI's batch form, with n = 1).
type promptField struct {
	set   bool
	text  string
	ids   []int64
	isIDs bool
}

func (p *promptField) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*p = promptField{set: true}
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &p.text); err != nil {
			return &fieldError{"prompt", err}
		}
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return &fieldError{"prompt", errors.New("want a string or an array of token ids")}
	}
	if len(list) == 0 {
		return &fieldError{"prompt", errors.New("an empty array")}
	}
	if first := bytes.TrimSpace(list[0]); len(first) > 0 && (first[0] == '"' || first[0] == '[') {
		if len(list) > maxPromptStrings {
			return &fieldError{"prompt", fmt.Errorf("%d prompts: infer serves one prompt per request", len(list))}
		}
		return p.UnmarshalJSON(first)
	}
	p.isIDs = true
	if err := json.Unmarshal(data, &p.ids); err != nil {
		return &fieldError{"prompt", errors.New("want a string or an array of token ids (integers)")}
	}
	return nil
}

// decodeChatRequest decodes and checks the fields of a chat request that
// need no model.
func decodeChatRequest(body []byte) (*chatRequest, *apiError) {
	var req chatRequest
	if e := decodeBody(body, &req); e != nil {
		return nil, e
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages: want at least one message")
	}
	if len(req.Messages) > maxMessages {
		return nil, badRequest("messages", "%d messages: at most %d", len(req.Messages), maxMessages)
	}
	for i, m := range req.Messages {
		if m.Role == "" {
			return nil, badRequest("messages", "messages[%d]: no role", i)
		}
	}
	if e := req.generationRequest.check(); e != nil {
		return nil, e
	}
	return &req, nil
}

// decodeCompletionRequest decodes and checks the fields of a completion
// request that need no model.
func decodeCompletionRequest(body []byte) (*completionRequest, *apiError) {
	var req completionRequest
	if e := decodeBody(body, &req); e != nil {
		return nil, e
	}
	if !req.Prompt.set {
		return nil, badRequest("prompt", "prompt: missing")
	}
	if req.Echo {
		return nil, badRequest("echo", "echo is not supported")
	}
	if req.Suffix != "" {
		return nil, badRequest("suffix", "suffix (fill in the middle) is not supported")
	}
	if e := req.generationRequest.check(); e != nil {
		return nil, e
	}
	return &req, nil
}

// decodeBody decodes a JSON object into v, turning every failure into a
// 400 that names the field at fault where one is.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "empty request body: want a JSON object")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var fe *fieldError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.param, "invalid %s", fe)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest("", "the request body is JSON %s: want an object", te.Value)
		}
		return badRequest(field, "%s: JSON %s is the wrong type (want %s)", field, te.Value, goTypeName(te.Type.String()))
	case errors.As(err, &se):
		return badRequest("", "the request body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return badRequest("", "the request body is not valid JSON: %v", err)
}

// goTypeName says a Go type in JSON's words.
func goTypeName(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}

// check judges the fields that need no model.
func (r *generationRequest) check() *apiError {
	if r.N != nil && *r.N != 1 {
		return badRequest("n", "n = %d: infer generates one choice per request (n = 1)", *r.N)
	}
	if len(r.Logprobs) > 0 && !isJSONNullOrFalse(r.Logprobs) {
		return badRequest("logprobs", "logprobs are not supported")
	}
	if len(r.ResponseFormat) > 0 && !isJSONNull(r.ResponseFormat) {
		var rf struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r.ResponseFormat, &rf); err != nil || (rf.Type != "text" && rf.Type != "") {
			return badRequest("response_format", "response_format: only {\"type\": \"text\"} is supported (no grammars or JSON schemas)")
		}
	}
	if r.Grammar != "" {
		return badRequest("grammar", "grammars are not supported")
	}
	if len(r.JSONSchema) > 0 && !isJSONNull(r.JSONSchema) {
		return badRequest("json_schema", "JSON schemas are not supported")
	}
	if len(r.DRYSequenceBreakers) > maxDRYBreakers {
		return badRequest("dry_sequence_breakers", "%d breakers: at most %d", len(r.DRYSequenceBreakers), maxDRYBreakers)
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"max_completion_tokens", r.MaxCompletionTokens}} {
		if f.v != nil && *f.v < 0 {
			return badRequest(f.name, "%s = %d: want 0 or more", f.name, *f.v)
		}
	}
	if r.NPredict != nil && *r.NPredict < -1 {
		return badRequest("n_predict", "n_predict = %d: want -1 (no limit) or more", *r.NPredict)
	}
	return nil
}

func isJSONNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func isJSONNullOrFalse(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("false")) || bytes.Equal(t, []byte("0"))
}

// maxTokens is the request's token limit: max_completion_tokens, else
// max_tokens, else n_predict; 0 is none given.
func (r *generationRequest) maxTokens() (n int, param string) {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens, "max_completion_tokens"
	case r.MaxTokens != nil:
		return *r.MaxTokens, "max_tokens"
	case r.NPredict != nil && *r.NPredict > 0:
		return *r.NPredict, "n_predict"
	}
	return 0, ""
}

// paramNames maps the sampler's names (llama.cpp's flags, which begin its
// error messages) to the request fields that set them.
var paramNames = map[string]string{
	"logit-bias": "logit_bias", "repeat-penalty": "repeat_penalty", "repeat-last-n": "repeat_last_n",
	"frequency-penalty": "frequency_penalty", "presence-penalty": "presence_penalty",
	"dry-multiplier": "dry_multiplier", "dry-base": "dry_base", "dry-allowed-length": "dry_allowed_length",
	"dry-penalty-last-n": "dry_penalty_last_n", "top-k": "top_k", "typical": "typical_p", "top-p": "top_p",
	"min-p": "min_p", "xtc-probability": "xtc_probability", "xtc-threshold": "xtc_threshold",
	"temp": "temperature", "dynatemp-range": "dynatemp_range", "dynatemp-exp": "dynatemp_exponent",
	"mirostat": "mirostat", "mirostat-lr": "mirostat_eta", "mirostat-ent": "mirostat_tau",
}

// generateOptions turns the request into the session's options: sampling
// starts from llama.cpp's defaults (as llama-server's does) and takes every
// field given. maxTokensLimit (> 0) caps max_tokens and is the default when
// the request gives none; vocabSize bounds logit_bias's token ids.
func (r *generationRequest) generateOptions(maxTokensLimit, vocabSize int) (infer.GenerateOptions, *apiError) {
	p := sampler.DefaultParams()
	setF := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setF(&p.Temp, r.Temperature)
	setF(&p.TopP, r.TopP)
	setF(&p.FrequencyPenalty, r.FrequencyPenalty)
	setF(&p.PresencePenalty, r.PresencePenalty)
	setF(&p.MinP, r.MinP)
	setF(&p.TypicalP, r.TypicalP)
	setF(&p.RepeatPenalty, r.RepeatPenalty)
	setF(&p.DRYMultiplier, r.DRYMultiplier)
	setF(&p.DRYBase, r.DRYBase)
	setF(&p.XTCProbability, r.XTCProbability)
	setF(&p.XTCThreshold, r.XTCThreshold)
	setF(&p.DynatempRange, r.DynatempRange)
	setF(&p.DynatempExponent, r.DynatempExponent)
	setF(&p.MirostatTau, r.MirostatTau)
	setF(&p.MirostatEta, r.MirostatEta)
	setI(&p.TopK, r.TopK)
	setI(&p.RepeatLastN, r.RepeatLastN)
	setI(&p.DRYAllowedLength, r.DRYAllowedLength)
	setI(&p.DRYPenaltyLastN, r.DRYPenaltyLastN)
	setI(&p.Mirostat, r.Mirostat)
	if r.DRYSequenceBreakers != nil {
		p.DRYSequenceBreakers = r.DRYSequenceBreakers
	}
	for _, lb := range r.LogitBias {
		if int(lb.Token) >= vocabSize {
			return infer.GenerateOptions{}, badRequest("logit_bias", "logit_bias: token %d is outside the vocabulary of %d tokens", lb.Token, vocabSize)
		}
	}
	p.LogitBias = r.LogitBias
	if r.Seed != nil && *r.Seed != -1 {
		p.Seed = uint64(*r.Seed)
	} else {
		p.Seed = rand.Uint64() // llama-server's default seed is a random one
	}
	if err := p.Validate(); err != nil {
		return infer.GenerateOptions{}, samplerError(err)
	}

	n, param := r.maxTokens()
	if maxTokensLimit > 0 {
		switch {
		case n > maxTokensLimit:
			return infer.GenerateOptions{}, badRequest(param, "%s = %d is above this server's limit of %d", param, n, maxTokensLimit)
		case n == 0 && param == "":
			n = maxTokensLimit
		}
	}
	if n == 0 && param != "" && param != "n_predict" {
		return infer.GenerateOptions{}, badRequest(param, "%s = 0: want at least 1 token", param)
	}
	return infer.GenerateOptions{
		Sampler:   p,
		MaxTokens: n,
		Stop:      r.Stop,
		IgnoreEOS: r.IgnoreEOS,
		// A server answers within its slot's context: a reply that fills
		// it ends with finish_reason "length" rather than forgetting the
		// start of the conversation behind the client's back.
		NoContextShift: true,
	}, nil
}

// samplerError turns sampler.Params.Validate's error into a 400 naming the
// request field of its first complaint.
func samplerError(err error) *apiError {
	first := err
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		first = j.Unwrap()[0]
	}
	name, _, _ := strings.Cut(first.Error(), " ")
	param := paramNames[name]
	if param == "" {
		param = name
	}
	return badRequest(param, "invalid %s: %v", param, first)
}
