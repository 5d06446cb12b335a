package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// chatModel is the model the chat tests talk to: tiny-llama's random
// weights answer gibberish, but deterministic gibberish.
func chatModel(t *testing.T) string {
	t.Helper()
	return testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
}

// runChatPipe runs `infer chat` with input on its standard input, as from a
// pipe.
func runChatPipe(t *testing.T, input string, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := chatMain(args, strings.NewReader(input), &out, &errb); err != nil {
		t.Fatalf("infer chat %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// replyStats is one --verbose stats line.
type replyStats struct {
	prompt, evaluated, cached, generated int
	stop                                 string
}

var statsRE = regexp.MustCompile(`prompt (\d+) tokens \((\d+) evaluated, (\d+) cached\).*; reply (\d+) tokens .*; stop: (.*)`)

func parseStatsLines(t *testing.T, text string) []replyStats {
	t.Helper()
	var out []replyStats
	for _, m := range statsRE.FindAllStringSubmatch(text, -1) {
		n := func(s string) int {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		out = append(out, replyStats{n(m[1]), n(m[2]), n(m[3]), n(m[4]), strings.TrimSpace(m[5])})
	}
	return out
}

func TestChatPipe(t *testing.T) {
	model := chatModel(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, "conv.json")
	script := strings.Join([]string{
		"Hello, who are you?",
		"Tell me more.",
		"/stats",
		"/save " + saved,
		"/reset",
		"/load " + saved,
		"And then?",
		"/exit",
		"this line is never read",
	}, "\n") + "\n"
	args := []string{"-m", model, "--chat-template", "chatml", "-n", "8", "--seed", "42", "-t", "2", "--verbose"}
	out1, err1 := runChatPipe(t, script, args...)
	out2, _ := runChatPipe(t, script, args...)
	if out1 != out2 {
		t.Errorf("the same seed gave two conversations:\n%q\n%q", out1, out2)
	}
	if strings.Contains(out1, "\x1b") || strings.Contains(err1, "\x1b") {
		t.Errorf("escape codes in pipe output:\n%q\n%q", out1, err1)
	}
	for _, want := range []string{"template: chatml", "/help for help", "(saved 4 messages", "(conversation cleared)", "(loaded 4 messages", "tokens evaluated in"} {
		if !strings.Contains(err1, want) {
			t.Errorf("stderr lacks %q:\n%s", want, err1)
		}
	}

	// Three replies with --verbose, and /stats repeats the second.
	st := parseStatsLines(t, err1)
	if len(st) != 4 {
		t.Fatalf("%d stats lines, want 4 (3 replies and /stats):\n%s", len(st), err1)
	}
	if st[2] != st[1] {
		t.Errorf("/stats says %+v, the second reply's line %+v", st[2], st[1])
	}
	for i, s := range st {
		if s.generated != 8 || s.stop != "token limit" || s.evaluated != s.prompt-s.cached {
			t.Errorf("reply %d: %+v, want 8 tokens to the token limit", i, s)
		}
	}
	// The second turn costs its own tokens: the cache holds the first
	// prompt and reply (but the reply's last token, sampled and not yet
	// run).
	if first, second := st[0], st[1]; second.cached != first.prompt+first.generated-1 || second.evaluated != second.prompt-first.prompt-first.generated+1 {
		t.Errorf("second turn %+v after first %+v: want the first's %d tokens cached", second, first, first.prompt+first.generated-1)
	}
	// After /load the loaded conversation is in the cache: the third turn
	// evaluates its own tokens only.
	loaded := regexp.MustCompile(`\((\d+) tokens evaluated in`).FindStringSubmatch(err1)
	if third := st[3]; loaded == nil || strconv.Itoa(third.cached) != loaded[1] {
		t.Errorf("turn after /load: %+v; want the %v tokens /load evaluated cached", third, loaded)
	}

	// The saved file: the conversation and the settings.
	data, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := parseSavedChat(data)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range sc.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "user,assistant,user,assistant" || sc.Messages[0].Content != "Hello, who are you?" {
		t.Errorf("saved messages %+v", sc.Messages)
	}
	if sc.Settings["seed"] != "42" || sc.Settings["n"] != "8" {
		t.Errorf("saved settings %v", sc.Settings)
	}
	replies := sc.Messages[1].Content + sc.Messages[3].Content
	if replies == "" || !strings.Contains(out1, sc.Messages[1].Content) || !strings.Contains(out1, sc.Messages[3].Content) {
		t.Errorf("the saved replies %q, %q are not what was printed:\n%s", sc.Messages[1].Content, sc.Messages[3].Content, out1)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// Another seed, another conversation.
	args[7] = "7"
	if out3, _ := runChatPipe(t, script, args...); out3 == out1 {
		t.Errorf("seeds 42 and 7 gave the same conversation")
	}
}

func TestChatPipeContextFull(t *testing.T) {
	model := chatModel(t)
	var script strings.Builder
	for i := range 12 {
		fmt.Fprintf(&script, "message number %d, a little longer than it needs to be\n", i)
	}
	out, errText := runChatPipe(t, script.String(), "-m", model, "--chat-template", "chatml", "-c", "128", "-n", "16", "--seed", "1", "-t", "2", "--verbose")
	if !strings.Contains(errText, "(context full: dropped the") {
		t.Errorf("no note about dropped turns:\n%s", errText)
	}
	// Each drop frees room for more than one turn: the turn after a drop
	// finds its history in the cache.
	if drops := strings.Count(errText, "(context full: dropped"); drops > 6 {
		t.Errorf("%d drops in 12 turns: a drop should leave room for the next turn", drops)
	}
	st := parseStatsLines(t, errText)
	if len(st) != 12 {
		t.Fatalf("%d replies, want 12:\n%s\n%s", len(st), out, errText)
	}
	for i, s := range st {
		if s.prompt+s.generated > 128 {
			t.Errorf("reply %d: %d prompt + %d reply tokens in a 128-token context", i, s.prompt, s.generated)
		}
	}
	// A message longer than the context is refused, and the chat goes on.
	long := strings.Repeat("word ", 300)
	out, errText = runChatPipe(t, "hi\n"+long+"\nbye\n", "-m", model, "--chat-template", "chatml", "-c", "128", "-n", "8", "-t", "2", "--verbose")
	if !strings.Contains(errText, "too long") || len(parseStatsLines(t, errText)) != 2 {
		t.Errorf("a too long message:\n%s\n%s", out, errText)
	}
}

func TestChatPipeSaveLoadJSON(t *testing.T) {
	model := chatModel(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "in.json")
	conv := []map[string]string{
		{"role": "system", "content": "You are terse."},
		{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "hello"},
	}
	data, _ := json.Marshal(map[string]any{"messages": conv, "settings": map[string]string{"temp": "0", "n": "4"}})
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errText := runChatPipe(t, "/load "+file+"\n/show\n/load "+filepath.Join(dir, "missing.json")+"\nnext\n", "-m", model, "--chat-template", "chatml", "-t", "2", "--verbose")
	for _, want := range []string{"(loaded 3 messages", "system:   You are terse.", "temp = 0", "n = 4", "error:", "reply 4 tokens"} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errText)
		}
	}
}

// reasoningTemplate opens a think block in the generation prompt, as
// DeepSeek-R1's does: the whole reply of a model that never closes it is
// thinking.
const reasoningTemplate = `{% for m in messages %}{% if m.role == 'user' %}<|User|>{{ m.content }}{% else %}<|Assistant|>{{ m.content }}<|end_of_turn|>{% endif %}{% endfor %}{% if add_generation_prompt %}<|Assistant|><think>
{% endif %}`

func TestChatPipeThinking(t *testing.T) {
	model := chatModel(t)
	file := filepath.Join(t.TempDir(), "r1.jinja")
	if err := os.WriteFile(file, []byte(reasoningTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-m", model, "--chat-template", file, "-n", "12", "--seed", "5", "-t", "2"}
	shown, errText := runChatPipe(t, "hi\n", args...)
	if !strings.Contains(errText, "template: "+file) {
		t.Errorf("the template file is not named at start-up:\n%s", errText)
	}
	if strings.TrimSpace(shown) == "" {
		t.Fatalf("no thinking shown by default")
	}
	hidden, _ := runChatPipe(t, "hi\n", append(args, "--hide-think")...)
	hiddenBySet, _ := runChatPipe(t, "/set think off\nhi\n", args...)
	if strings.TrimSpace(hidden) != "" || hidden != hiddenBySet {
		t.Errorf("hidden thinking printed %q (--hide-think) and %q (/set think off); shown it is %q", hidden, hiddenBySet, shown)
	}
}

func TestChatBadTemplate(t *testing.T) {
	model := chatModel(t)
	var out, errb bytes.Buffer
	err := chatMain([]string{"-m", model, "--chat-template", filepath.Join(t.TempDir(), "no-such-template")}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Errorf("an unknown template: %v, want an error listing the built-in formats", err)
	}
}
