package server

import (
	"strings"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
)

// prompter turns a conversation into prompt tokens with the model's chat
// format.
type prompter struct {
	format *infer.ChatFormat
	m      *infer.Model
	// turnEnd is the text the format writes after an assistant's message,
	// a stop string for every chat request: in formats whose turn end is
	// not a token the vocabulary marks as end-of-generation (a model
	// without a template, answering in a guessed format), it is how a
	// reply ends at the end of its turn.
	turnEnd string
}

// newPrompter prepares the chat format infer.Model.ChatFormat picks for
// override ("" for the model's own template, a built-in name, a named
// template of the model or a template file).
func newPrompter(m *infer.Model, override string) (*prompter, error) {
	f, err := m.ChatFormat(override)
	if err != nil {
		return nil, err
	}
	return &prompter{format: f, m: m, turnEnd: turnEnd(f)}, nil
}

// tokens renders msgs with the generation prompt and tokenizes the result
// as the model reads a conversation (special tokens parsed, one BOS).
func (p *prompter) tokens(msgs []chat.Message, tools []any) ([]int32, error) {
	text, err := p.format.Render(msgs, true, tools)
	if err != nil {
		return nil, err
	}
	return p.m.TokenizeChat(text), nil
}

// turnEnd finds what f writes between an assistant's message and the next
// user turn, by rendering a probe conversation; its first non-blank line
// is the turn's end ("<|im_end|>", "</s>", "<|eot_id|>"). "" when the
// format separates turns by blank lines only, or cannot render the probe.
func turnEnd(f *infer.ChatFormat) string {
	const user, reply, next = "u8Kq2v", "r5Wn7x", "n3Zt9y"
	text, err := f.Render([]chat.Message{{Role: "user", Content: user}, {Role: "assistant", Content: reply}, {Role: "user", Content: next}}, false, nil)
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(text, reply)
	if !ok {
		return ""
	}
	between, _, ok := strings.Cut(after, next)
	if !ok {
		return ""
	}
	for line := range strings.SplitSeq(between, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
