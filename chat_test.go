package infer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/gguf"
)

// withKV rewrites the GGUF file at src to dst with extra metadata.
func withKV(t *testing.T, src, dst string, extra map[string]string) {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.AddKV(k, gguf.ValueOf(extra[k]))
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFile(dst); err != nil {
		t.Fatal(err)
	}
}

const (
	ownTemplate  = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
	toolTemplate = "{% for t in tools %}{{ t.name }};{% endfor %}{{ messages[0].content }}"
)

func loadChatModel(t *testing.T, templates map[string]string) *infer.Model {
	t.Helper()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.gguf")
	if err := writeSuccessorModel(plain, numbers, cycle); err != nil {
		t.Fatal(err)
	}
	path := plain
	if templates != nil {
		path = filepath.Join(dir, "chat.gguf")
		withKV(t, plain, path, templates)
	}
	m, err := infer.Load(path, infer.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestChatFormat(t *testing.T) {
	m := loadChatModel(t, map[string]string{
		"tokenizer.chat_template":          ownTemplate,
		"tokenizer.chat_template.tool_use": toolTemplate,
		"tokenizer.chat_templates_x":       "not a template",
	})
	got := m.ChatTemplates()
	if len(got) != 2 || got[""] != ownTemplate || got["tool_use"] != toolTemplate {
		t.Fatalf("ChatTemplates = %q", got)
	}
	file := filepath.Join(t.TempDir(), "mine.jinja")
	if err := os.WriteFile(file, []byte("{{ messages|length }} messages\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{{Role: "user", Content: "one two"}, {Role: "assistant", Content: "three"}}
	tools := []any{chat.Object{{Key: "name", Value: "f"}}}
	for _, tc := range []struct{ override, name, want string }{
		{"", "model", "<s>[user] one two</s>[assistant] three</s>[assistant]"},
		{"model", "model", "<s>[user] one two</s>[assistant] three</s>[assistant]"},
		{"tool_use", "model:tool_use", "f;one two"},
		{"model:tool_use", "model:tool_use", "f;one two"},
		{"chatml", "chatml", "<|im_start|>user\none two<|im_end|>\n<|im_start|>assistant\nthree<|im_end|>\n<|im_start|>assistant\n"},
		{file, file, "2 messages"}, // jinja2 drops the file's final newline
	} {
		f, err := m.ChatFormat(tc.override)
		if err != nil {
			t.Errorf("ChatFormat(%q): %v", tc.override, err)
			continue
		}
		if f.Name != tc.name || f.Guessed || f.BOS != "<s>" || f.EOS != "</s>" {
			t.Errorf("ChatFormat(%q) = %+v", tc.override, f)
		}
		out, err := f.Render(msgs, true, tools)
		if err != nil || out != tc.want {
			t.Errorf("ChatFormat(%q).Render = %q, %v; want %q", tc.override, out, err, tc.want)
		}
	}
	for _, bad := range []string{"model:rag", "model:", "no-such-format-or-file"} {
		if f, err := m.ChatFormat(bad); err == nil {
			t.Errorf("ChatFormat(%q) = %+v, want an error", bad, f)
		}
	}

	// TokenizeChat adds the BOS only when the text does not start with it.
	f, _ := m.ChatFormat("")
	rendered, _ := f.Render(msgs[:1], false, nil)
	withBOS := m.TokenizeChat(rendered)
	if withBOS[0] != 1 || withBOS[1] == 1 || withBOS[len(withBOS)-1] != 2 {
		t.Errorf("TokenizeChat(%q) = %v: want one BOS (1) and the </s> parsed as EOS (2)", rendered, withBOS)
	}
	noBOS := m.TokenizeChat(strings.TrimPrefix(rendered, "<s>"))
	if !slices.Equal(withBOS, noBOS) {
		t.Errorf("TokenizeChat without the template's BOS = %v, want %v", noBOS, withBOS)
	}
}

func TestChatFormatGuessed(t *testing.T) {
	m := loadChatModel(t, nil)
	if got := m.ChatTemplates(); len(got) != 0 {
		t.Errorf("ChatTemplates of a model without any = %q", got)
	}
	f, err := m.ChatFormat("")
	if err != nil {
		t.Fatal(err)
	}
	// The vocabulary has no chat tokens: llama.cpp's fallback, chatml.
	if f.Name != "chatml" || !f.Guessed {
		t.Errorf("ChatFormat(\"\") = %+v, want a guessed chatml", f)
	}
	if _, err := m.ChatFormat("tool_use"); err == nil {
		t.Error("a named template of a model without templates was found")
	}
}
