package infer

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/gguf"
)

// chatTemplates reads a GGUF file's chat templates: tokenizer.chat_template
// under "" and each tokenizer.chat_template.NAME (llama.cpp's named
// templates, such as "tool_use" and "rag") under NAME. Keys whose value is
// not a string are skipped.
func chatTemplates(f *gguf.File) map[string]string {
	out := map[string]string{}
	for _, kv := range f.KV {
		name, ok := strings.CutPrefix(kv.Key, "tokenizer.chat_template")
		if !ok || name != "" && (name[0] != '.' || len(name) == 1) {
			continue
		}
		if src, ok := kv.Value.Data.(string); ok {
			out[strings.TrimPrefix(name, ".")] = src
		}
	}
	return out
}

// ChatTemplates returns the model's chat templates: its own under "" and
// the named ones (tokenizer.chat_template.NAME) under NAME. Empty when the
// model carries none.
func (m *Model) ChatTemplates() map[string]string { return chatTemplates(m.file) }

// ChatFormat is how a model's conversations become a prompt.
type ChatFormat struct {
	// Name says where the template came from: "model" (the GGUF's own
	// template), "model:NAME" (a named template of the GGUF), a built-in
	// format's name, or a file's path.
	Name string
	// Guessed is true when the model carries no template and the format
	// was chosen from its vocabulary (chatml when nothing fits, as in
	// llama.cpp).
	Guessed  bool
	Template *chat.Template
	// BOS and EOS are the texts of the vocabulary's BOS and EOS tokens,
	// passed to the template as bos_token and eos_token ("" if none).
	BOS, EOS string
}

// ChatFormat picks the chat format. override is "" for the model's own
// template (a built-in format guessed from the vocabulary when it has
// none), a built-in format's name (chat.BuiltinNames), "model:NAME" or NAME
// for one of the model's named templates, or the path of a template file.
func (m *Model) ChatFormat(override string) (*ChatFormat, error) {
	f := &ChatFormat{}
	if id := m.tok.BOS(); id >= 0 {
		f.BOS = m.tok.TokenText(id)
	}
	if id := m.tok.EOS(); id >= 0 {
		f.EOS = m.tok.TokenText(id)
	}
	templates := m.ChatTemplates()
	var src string
	switch named, isModel := strings.CutPrefix(override, "model:"); {
	case override == "" || override == "model":
		if own := templates[""]; own != "" {
			src, f.Name = own, "model"
			break
		}
		name := chat.Guess(func(text string) bool { _, ok := m.tok.TokenID(text); return ok })
		if name == "" {
			name = "chatml"
		}
		src, _ = chat.Builtin(name)
		f.Name, f.Guessed = name, true
	case isModel:
		s, ok := templates[named]
		if !ok || named == "" {
			return nil, fmt.Errorf("chat format %q: the model has no template named %q (it has %s)", override, named, describeTemplates(templates))
		}
		src, f.Name = s, override
	default:
		if s, ok := chat.Builtin(override); ok {
			src, f.Name = s, override
			break
		}
		if s, ok := templates[override]; ok {
			src, f.Name = s, "model:"+override
			break
		}
		data, err := os.ReadFile(override)
		if err != nil {
			return nil, fmt.Errorf("chat format %q is not a built-in format (%s), not a template of the model (%s), and not a readable file: %w",
				override, strings.Join(chat.BuiltinNames(), ", "), describeTemplates(templates), err)
		}
		src, f.Name = string(data), override
	}
	t, err := chat.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("chat format %s: %w", f.Name, err)
	}
	f.Template = t
	return f, nil
}

// describeTemplates lists a model's templates for an error message.
func describeTemplates(templates map[string]string) string {
	if len(templates) == 0 {
		return "none"
	}
	names := make([]string, 0, len(templates))
	for n := range templates {
		if n == "" {
			n = "its own"
		} else {
			n = "model:" + n
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Render renders a conversation with the format; addGenerationPrompt opens
// the assistant's turn, tools (JSON values, nil for none) are passed to the
// template as tools.
func (f *ChatFormat) Render(msgs []chat.Message, addGenerationPrompt bool, tools []any) (string, error) {
	return f.Template.Render(chat.Inputs{Messages: msgs, Tools: tools, AddGenerationPrompt: addGenerationPrompt,
		BOSToken: f.BOS, EOSToken: f.EOS})
}

// TokenizeChat tokenizes a rendered conversation: the text of special
// tokens becomes those tokens, and the model's BOS is added (when its
// vocabulary asks for one) unless the text already begins with the BOS
// token's text, as llama.cpp does, so that a template that writes
// bos_token does not get two.
func (m *Model) TokenizeChat(rendered string) []int32 {
	addSpecial := true
	if id := m.tok.BOS(); id >= 0 {
		if bos := m.tok.TokenText(id); bos != "" && strings.HasPrefix(rendered, bos) {
			addSpecial = false
		}
	}
	return m.tok.Encode(rendered, addSpecial, true)
}
