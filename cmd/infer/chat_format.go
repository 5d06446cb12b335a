package main

import (
	"fmt"
	"os"
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

// loadChatFormat picks the format as the model and --chat-template
// (override: a built-in name or a template file; "" for the model's own)
// say. A model without a template gets the built-in format its special
// tokens suggest (chatml when none does), marked as a guess.
//
// The root package's Model.ChatFormat is to provide this choice for every
// front end; until it does, the chat makes it here from the chat package's
// pieces, the way llama.cpp does.
func loadChatFormat(m *infer.Model, override string) (*chatFormat, error) {
	src, name, guessed, err := chooseTemplate(m, override)
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sp := m.SpecialTokens()
	tok := m.Tokenizer()
	var bos, eos string
	if sp.BOS >= 0 {
		bos = tok.TokenText(sp.BOS)
	}
	if sp.EOS >= 0 {
		eos = tok.TokenText(sp.EOS)
	}
	cf := &chatFormat{
		name:    name,
		guessed: guessed,
		render: func(msgs []chat.Message, gen bool) (string, error) {
			return tmpl.Render(chat.Inputs{Messages: msgs, AddGenerationPrompt: gen, BOSToken: bos, EOSToken: eos})
		},
		// Special tokens written by the template are parsed; the BOS is
		// added unless the template wrote it already.
		tokenize: func(text string) []int32 {
			return m.Tokenize(text, bos == "" || !strings.HasPrefix(text, bos), true)
		},
	}
	cf.stops = turnEndStops(cf.render)
	return cf, nil
}

// chooseTemplate returns the template source to use and its name.
func chooseTemplate(m *infer.Model, override string) (src, name string, guessed bool, err error) {
	if override != "" {
		if src, ok := chat.Builtin(override); ok {
			return src, override, false, nil
		}
		data, err := os.ReadFile(override)
		if err != nil {
			return "", "", false, fmt.Errorf("--chat-template %s: neither a built-in format (%s) nor a readable file: %w",
				override, strings.Join(chat.BuiltinNames(), ", "), err)
		}
		return string(data), describeTemplate(override, string(data)), false, nil
	}
	for _, kv := range m.Metadata() {
		if kv.Key == "tokenizer.chat_template" {
			if s, ok := kv.Value.Data.(string); ok && s != "" {
				return s, describeTemplate("the model's template", s), false, nil
			}
		}
	}
	tok := m.Tokenizer()
	name = chat.Guess(func(text string) bool { _, ok := tok.TokenID(text); return ok })
	if name == "" {
		name = "chatml" // llama.cpp's fallback
	}
	src, ok := chat.Builtin(name)
	if !ok {
		return "", "", false, fmt.Errorf("no built-in chat format %q", name)
	}
	return src, name, true, nil
}

// describeTemplate names a template by where it came from and the built-in
// format it resembles.
func describeTemplate(from, src string) string {
	if like := chat.Detect(src); like != "" {
		return from + " (" + like + ")"
	}
	return from
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
