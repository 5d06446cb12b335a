package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// writeTemp writes content to a file in a test directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplateCommand(t *testing.T) {
	msgs := writeTemp(t, "msgs.json", `[{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}]`)
	stdout, stderr, code := runCmd(t, "template", "--template", "chatml", "--messages", msgs, "--add-generation-prompt")
	if want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"; code != 0 || stdout != want {
		t.Errorf("chatml: exit %d, %q (stderr %q); want %q", code, stdout, stderr, want)
	}

	// A template file, bos/eos given explicitly, tools from a request's
	// "tools" and from --tools.
	tpl := writeTemp(t, "t.jinja", "{{ bos_token }}|{{ eos_token }}|{% for t in tools %}{{ t.function.name }} {{ t|tojson }}{% endfor %}|{{ messages[-1].content }}\n")
	request := writeTemp(t, "req.json", `{"model": "m", "messages": [{"role": "user", "content": "Q"}], "tools": [{"type": "function", "function": {"name": "f", "z": 1, "a": 2}}]}`)
	stdout, stderr, code = runCmd(t, "template", "--template", tpl, "--messages", request, "--bos-token", "<B>", "--eos-token", "")
	if want := `<B>||f {"type": "function", "function": {"name": "f", "z": 1, "a": 2}}|Q`; code != 0 || stdout != want {
		t.Errorf("file template: exit %d, %q (stderr %q); want %q", code, stdout, stderr, want)
	}
	tools := writeTemp(t, "tools.json", `[{"function": {"name": "g"}}]`)
	stdout, _, code = runCmd(t, "template", "--template", tpl, "--messages", request, "--tools", tools)
	if want := `||g {"function": {"name": "g"}}|Q`; code != 0 || stdout != want {
		t.Errorf("--tools: exit %d, %q; want %q", code, stdout, want)
	}

	// strftime_now reads the clock --now sets.
	dated := writeTemp(t, "d.jinja", "{{ strftime_now('%d %b %Y %H:%M') }}")
	stdout, _, code = runCmd(t, "template", "--template", dated, "--messages", msgs, "--now", "2024-07-26T09:05:00Z")
	if code != 0 || stdout != "26 Jul 2024 09:05" {
		t.Errorf("--now: exit %d, %q", code, stdout)
	}

	// raise_exception: exit 1 with the template's message.
	raising := writeTemp(t, "r.jinja", "{{ raise_exception('No ' ~ messages[0].role ~ ' here') }}")
	_, stderr, code = runCmd(t, "template", "--template", raising, "--messages", msgs)
	if code != 1 || !strings.Contains(stderr, "template error: No system here\n") {
		t.Errorf("raise_exception: exit %d, stderr %q", code, stderr)
	}

	for _, args := range [][]string{
		{"template", "--template", "chatml"},
		{"template", "--messages", msgs},
		{"template", "--template", "chatml", "--messages", msgs, "extra"},
		{"template", "--template", "chatml", "--messages", msgs, "--now", "yesterday"},
	} {
		if _, _, code := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	for _, args := range [][]string{
		{"template", "--template", "no-such-file.jinja", "--messages", msgs},
		{"template", "--template", "chatml", "--messages", writeTemp(t, "bad.json", `[{"role": 1}]`)},
		{"template", "--template", "chatml", "--messages", msgs, "--tools", writeTemp(t, "bad-tools.json", `{}`)},
		{"template", "--template", writeTemp(t, "syntax.jinja", "{% for %}"), "--messages", msgs},
	} {
		if _, _, code := runCmd(t, args...); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
}

// TestTemplateModel renders with a GGUF's own template and tokens.
func TestTemplateModel(t *testing.T) {
	vocab := testref.Path(t, "vocab", "ggml-vocab-phi-3.gguf")
	msgs := writeTemp(t, "msgs.json", `[{"role": "user", "content": "Hello"}]`)
	stdout, stderr, code := runCmd(t, "template", "-m", vocab, "--messages", msgs, "--add-generation-prompt")
	if code != 0 || !strings.Contains(stdout, "<|user|>\nHello<|end|>\n<|assistant|>\n") {
		t.Errorf("phi-3's template: exit %d, %q (stderr %q)", code, stdout, stderr)
	}
	tpl := writeTemp(t, "t.jinja", "[{{ bos_token }}][{{ eos_token }}]")
	stdout, _, code = runCmd(t, "template", "-m", vocab, "--template", tpl, "--messages", msgs)
	if code != 0 || stdout != "[<s>][<|endoftext|>]" {
		t.Errorf("the model's tokens: exit %d, %q", code, stdout)
	}
	llama := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	if _, stderr, code := runCmd(t, "template", "-m", llama, "--messages", msgs); code != 1 || !strings.Contains(stderr, "no chat template") {
		t.Errorf("a model without a template: exit %d, %q", code, stderr)
	}
}

// TestTemplateReferenceCases renders every case of ../shared/chat/cases.json
// through the command: the output must be the expected text byte for byte,
// and every expected error must exit 1 (with raise_exception's message).
func TestTemplateReferenceCases(t *testing.T) {
	dir := testref.Path(t, "chat")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name                string  `json:"name"`
		TemplateFile        string  `json:"template_file"`
		BOSToken            string  `json:"bos_token"`
		EOSToken            string  `json:"eos_token"`
		Conversation        string  `json:"conversation"`
		AddGenerationPrompt bool    `json:"add_generation_prompt"`
		Expected            *string `json:"expected"`
		Error               string  `json:"error"`
		ErrorType           string  `json:"error_type"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(filepath.Join(dir, "conversations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var convs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &convs); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for name, conv := range convs {
		if err := os.WriteFile(filepath.Join(tmp, name+".json"), conv, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exact := 0
	for _, c := range cases {
		args := []string{"template", "--template", filepath.Join(dir, c.TemplateFile), "--messages", filepath.Join(tmp, c.Conversation+".json"),
			"--bos-token", c.BOSToken, "--eos-token", c.EOSToken, "--now", "2024-07-26"} // the references' strftime_now
		if c.AddGenerationPrompt {
			args = append(args, "--add-generation-prompt")
		}
		stdout, stderr, code := runCmd(t, args...)
		switch {
		case c.Expected != nil && (code != 0 || stdout != *c.Expected):
			t.Errorf("%s: exit %d, stderr %q, output differs: %v", c.Name, code, stderr, stdout != *c.Expected)
		case c.Expected == nil && code != 1:
			t.Errorf("%s: exit %d, want 1 (%s: %s)", c.Name, code, c.ErrorType, c.Error)
		case c.Expected == nil && c.ErrorType == "TemplateError" && !strings.Contains(stderr, "template error: "+c.Error+"\n"):
			t.Errorf("%s: stderr %q, want the message %q", c.Name, stderr, c.Error)
		default:
			exact++
		}
	}
	t.Logf("%d/%d reference cases exact through infer template", exact, len(cases))
}
