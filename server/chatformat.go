package server

import (
	"fmt"
	"strings"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
)

// prompter turns a conversation into prompt tokens with the model's chat
// format.
type prompter struct {
	name    string // the format's name, for the start-up line
	guessed bool   // the model has no template: the format is a guess
	tmpl    *chat.Template
	bos     string
	eos     string
	m       *infer.Model
}

// chatmlSource is the ChatML format, used for a model without a template
// of its own (llama.cpp's fallback too).
const chatmlSource = `{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}`

// newPrompter prepares the model's chat format: override (a template's
// source) if given, else the GGUF's tokenizer.chat_template, else ChatML.
func newPrompter(m *infer.Model, override string) (*prompter, error) {
	p := &prompter{m: m}
	src, name := override, "override"
	if src == "" {
		for _, kv := range m.Metadata() {
			if kv.Key == "tokenizer.chat_template" {
				if s, ok := kv.Value.Data.(string); ok {
					src, name = s, "the model's template"
				}
			}
		}
	}
	if src == "" {
		src, name, p.guessed = chatmlSource, "chatml", true
	}
	t, err := chat.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("chat template (%s): %w", name, err)
	}
	p.tmpl, p.name = t, name
	sp := m.SpecialTokens()
	tok := m.Tokenizer()
	if sp.BOS >= 0 {
		p.bos = tok.TokenText(sp.BOS)
	}
	if sp.EOS >= 0 {
		p.eos = tok.TokenText(sp.EOS)
	}
	return p, nil
}

// tokens renders msgs with the generation prompt and tokenizes the result,
// special tokens parsed; the BOS is added unless the template wrote it.
func (p *prompter) tokens(msgs []chat.Message, tools []any) ([]int32, error) {
	text, err := p.tmpl.Render(chat.Inputs{Messages: msgs, Tools: tools, AddGenerationPrompt: true, BOSToken: p.bos, EOSToken: p.eos})
	if err != nil {
		return nil, err
	}
	addSpecial := p.bos == "" || !strings.HasPrefix(text, p.bos)
	return p.m.Tokenize(text, addSpecial, true), nil
}
