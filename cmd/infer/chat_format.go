package main

import (
	"strings"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
)

// chatFormat is the conversation format a chat uses: the model's template,
// a built-in one, or a file.
type chatFormat struct {
	name    string
	guessed bool // no template in the model: the name is a guess
	// render renders messages; addGenerationPrompt opens the assistant's
	// turn.
	render func(msgs []chat.Message, addGenerationPrompt bool) (string, error)
	// tokenize turns a rendering into the tokens the model reads.
	tokenize func(rendered string) []int32
	// stops are the texts that close an assistant turn in this format,
	// for formats whose turn end is text rather than a token the
	// vocabulary marks as end-of-generation.
	stops []string
}

// loadChatFormat picks the format as the model and --chat-template say
// (override: "" for the model's own template, else a built-in name, one of
// the model's named templates or a template file; see Model.ChatFormat).
func loadChatFormat(m *infer.Model, override string) (*chatFormat, error) {
	f, err := m.ChatFormat(override)
	if err != nil {
		return nil, err
	}
	name := f.Name
	if like := chat.Detect(f.Template.Source()); like != "" && like != name && !f.Guessed {
		name += " (" + like + ")"
	}
	cf := &chatFormat{
		name:     name,
		guessed:  f.Guessed,
		render:   func(msgs []chat.Message, gen bool) (string, error) { return f.Render(msgs, gen, nil) },
		tokenize: m.TokenizeChat,
	}
	cf.stops = turnEndStops(cf.render)
	return cf, nil
}

// turnEndStops finds what the format writes after an assistant's message:
// it renders a short conversation with and without a reply and takes the
// text that follows the reply. When that is only white space (formats that
// separate turns by blank lines), the next user turn's header is the stop
// instead. A template that cannot render the probe gives no stop strings.
func turnEndStops(render func([]chat.Message, bool) (string, error)) []string {
	const question, answer, next = "Q7f3kq", "A9x2zw", "N4m8pv"
	msgs := []chat.Message{{Role: "user", Content: question}, {Role: "assistant", Content: answer}, {Role: "user", Content: next}}
	text, err := render(msgs, false)
	if err != nil {
		return nil
	}
	i := strings.Index(text, answer)
	j := strings.Index(text, next)
	if i < 0 || j < i {
		return nil
	}
	between := text[i+len(answer) : j]
	closing, _, _ := strings.Cut(strings.TrimLeft(between, " \t\r\n"), "\n")
	closing = strings.TrimSpace(closing)
	if closing == "" {
		return nil
	}
	return []string{closing}
}
