package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/infer-go/infer/chat"
)

// readMessages assembles every message of input as the chat reads a pipe.
func readMessages(t *testing.T, input string) []string {
	t.Helper()
	mr := &messageReader{src: newPlainLines(strings.NewReader(input))}
	var msgs []string
	for {
		m, err := mr.read()
		if errors.Is(err, io.EOF) {
			return msgs
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		msgs = append(msgs, m)
	}
}

func TestMessageReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"lines", "hi\nthere\n", []string{"hi", "there"}},
		{"no final newline", "hi\nthere", []string{"hi", "there"}},
		{"crlf", "hi\r\nthere\r\n", []string{"hi", "there"}},
		{"empty lines kept as empty messages", "a\n\nb\n", []string{"a", "", "b"}},
		{"backslash continues", "one \\\ntwo\\\nthree\nnext\n", []string{"one \ntwo\nthree", "next"}},
		{"backslash at end of input", "one\\\n", []string{"one"}},
		{"block", "\"\"\"\nline 1\n\nline 3\n\"\"\"\nafter\n", []string{"line 1\n\nline 3", "after"}},
		{"block with text on its quote lines", "\"\"\"first\nsecond\"\"\"\n", []string{"first\nsecond"}},
		{"one-line block", "\"\"\"just this\"\"\"\n", []string{"just this"}},
		{"block keeps backslashes and commands", "\"\"\"\na \\\n/exit\n\"\"\"\n", []string{"a \\\n/exit"}},
		{"indented opening quotes", "  \"\"\"\nx\n\"\"\"\n", []string{"x"}},
		{"unclosed block at end of input", "\"\"\"\nx\ny\n", []string{"x\ny"}},
		{"quotes inside a line are text", "say \"\"\" now\n", []string{"say \"\"\" now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readMessages(t, tt.input)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("messages %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlainLinesTooLong(t *testing.T) {
	p := newPlainLines(strings.NewReader(strings.Repeat("x", maxInputLine+10)))
	if _, err := p.readLine(""); err == nil {
		t.Fatal("a line over the limit was read")
	}
}

// filterPaste runs input through a pasteFilter in chunks of size n.
func filterPaste(input string, n int) string {
	f := &pasteFilter{r: io.NopCloser(&chunkReader{data: []byte(input), n: n})}
	out, _ := io.ReadAll(f)
	return string(out)
}

// chunkReader returns at most n bytes a read, as a terminal does.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p, c.data[:min(c.n, len(c.data))])
	c.data = c.data[k:]
	return k, nil
}

func TestPasteFilter(t *testing.T) {
	nl := string(pasteNewline)
	tests := []struct {
		name, input, want string
	}{
		{"typed text passes", "hello\r", "hello\r"},
		{"escape keys pass", "a\x1b[D\x1b[3~b\x1b", "a\x1b[D\x1b[3~b\x1b"},
		{"one-line paste", pasteStart + "pasted" + pasteEnd + "\r", "pasted\r"},
		{"multi-line paste", pasteStart + "line 1\nline 2\r\nline 3\rend" + pasteEnd + "\r",
			"line 1" + nl + "line 2" + nl + "line 3" + nl + "end\r"},
		{"newline after the paste is a key again", pasteStart + "a\n" + pasteEnd + "\n", "a" + nl + "\n"},
		{"a marker-like sequence that is not one", "\x1b[201x", "\x1b[201x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 7, 4096} {
				if got := filterPaste(tt.input, n); got != tt.want {
					t.Errorf("chunks of %d: %q, want %q", n, got, tt.want)
				}
			}
		})
	}
}

// thinkText runs text through a thinkFilter in pieces of n bytes and
// returns the answer and the thinking it separates.
func thinkText(text string, n int, startInThink bool) (answer, thinking string) {
	f := thinkFilter{inThink: startInThink}
	var spans []textSpan
	for i := 0; i < len(text); i += n {
		spans = append(spans, f.push(text[i:min(i+n, len(text))])...)
	}
	spans = append(spans, f.flush()...)
	for _, s := range spans {
		if s.think {
			thinking += s.text
		} else {
			answer += s.text
		}
	}
	return answer, thinking
}

func TestThinkFilter(t *testing.T) {
	tests := []struct {
		name, text       string
		inThink          bool
		answer, thinking string
	}{
		{"no thinking", "just an answer", false, "just an answer", ""},
		{"think then answer", "<think>hmm, 2+2</think>\n4", false, "\n4", "<think>hmm, 2+2</think>"},
		{"prompt opened the block", "reasoning</think>answer", true, "answer", "reasoning</think>"},
		{"unclosed thinking", "<think>still going", false, "", "<think>still going"},
		{"a lone < is text", "a < b and <thin", false, "a < b and <thin", ""},
		{"two blocks", "<think>a</think>b<think>c</think>d", false, "bd", "<think>a</think><think>c</think>"},
		{"close tag outside a block is text", "x</think>y", false, "x</think>y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 5, 1000} {
				a, th := thinkText(tt.text, n, tt.inThink)
				if a != tt.answer || th != tt.thinking {
					t.Errorf("pieces of %d: answer %q thinking %q, want %q and %q", n, a, th, tt.answer, tt.thinking)
				}
			}
		})
	}
}

func TestPromptOpensThink(t *testing.T) {
	for text, want := range map[string]bool{
		"<|Assistant|><think>\n":             true,
		"<|im_start|>assistant\n":            false,
		"<think>x</think><|im_start|>asst\n": false,
		"<think>\n\n</think>\n\n":            false,
		"<think> plus text":                  false,
	} {
		if got := promptOpensThink(text); got != want {
			t.Errorf("promptOpensThink(%q) = %v, want %v", text, got, want)
		}
	}
}

func roleMessages(roles ...string) []chat.Message {
	var out []chat.Message
	for i, r := range roles {
		out = append(out, chat.Message{Role: r, Content: string(rune('a' + i))})
	}
	return out
}

func joinContents(m []chat.Message) string {
	var b strings.Builder
	for _, x := range m {
		b.WriteString(x.Content)
	}
	return b.String()
}

func TestDropOldestTurns(t *testing.T) {
	tests := []struct {
		name    string
		msgs    []chat.Message
		limit   int // messages that fit
		want    string
		dropped int
	}{
		{"fits", roleMessages("user", "assistant", "user"), 3, "abc", 0},
		{"drops one turn", roleMessages("user", "assistant", "user", "assistant", "user"), 3, "cde", 1},
		{"drops whole turns only", roleMessages("user", "assistant", "user", "assistant", "user"), 4, "cde", 1},
		{"drops several", roleMessages("user", "assistant", "user", "assistant", "user", "assistant", "user"), 2, "g", 3},
		{"tool messages belong to their turn", roleMessages("user", "assistant", "tool", "assistant", "user"), 2, "e", 1},
		{"a leading assistant message is part of the first turn", roleMessages("assistant", "user", "assistant", "user"), 3, "bcd", 1},
		{"the last turn is never dropped", roleMessages("user", "assistant", "user"), 0, "c", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped, err := dropOldestTurns(tt.msgs, func(m []chat.Message) (bool, error) { return len(m) <= tt.limit, nil })
			if err != nil {
				t.Fatal(err)
			}
			if joinContents(kept) != tt.want || dropped != tt.dropped {
				t.Errorf("kept %q, dropped %d; want %q, %d", joinContents(kept), dropped, tt.want, tt.dropped)
			}
		})
	}
	wantErr := errors.New("render failed")
	if _, _, err := dropOldestTurns(roleMessages("user"), func([]chat.Message) (bool, error) { return false, wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("error %v, want %v", err, wantErr)
	}
}

func TestReplyRoom(t *testing.T) {
	for _, tt := range []struct{ n, ctx, want int }{
		{-1, 4096, 1024}, {0, 256, 64}, {100, 4096, 100}, {5000, 4096, 2048},
	} {
		if got := replyRoom(tt.n, tt.ctx); got != tt.want {
			t.Errorf("replyRoom(%d, %d) = %d, want %d", tt.n, tt.ctx, got, tt.want)
		}
	}
}

func TestTurnEndStops(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string
	}{
		{"chatml", "<|im_end|>"},
		{"gemma", "<end_of_turn>"},
		{"phi3", "<|end|>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, ok := chat.Builtin(tt.name)
			if !ok {
				t.Skipf("no built-in %s", tt.name)
			}
			tmpl, err := chat.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			stops := turnEndStops(func(m []chat.Message, gen bool) (string, error) {
				return tmpl.Render(chat.Inputs{Messages: m, AddGenerationPrompt: gen, BOSToken: "<s>", EOSToken: "</s>"})
			})
			if len(stops) != 1 || stops[0] != tt.want {
				t.Errorf("stops %q, want [%q]", stops, tt.want)
			}
		})
	}
	if stops := turnEndStops(func([]chat.Message, bool) (string, error) { return "", errors.New("no") }); stops != nil {
		t.Errorf("a failing template gives stops %q", stops)
	}
}

func TestParseSavedChat(t *testing.T) {
	good := `{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
		{"role": "assistant", "content": "hello"}], "settings": {"temp": "0.5", "n": "16"}}`
	sc, err := parseSavedChat([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Messages) != 3 || sc.Messages[2].Content != "hello" || sc.Settings["temp"] != "0.5" {
		t.Errorf("parsed %+v", sc)
	}
	for _, bad := range []string{
		``, `[]`, `{"messages": [{"content": "no role"}]}`,
		`{"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "late"}]}`,
		`{"messages": [{"role": "user", "content": 5}]}`,
	} {
		if _, err := parseSavedChat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSettingsOrder(t *testing.T) {
	got := settingsOrder(map[string]string{"zzz": "1", "temp": "1", "n": "2", "top-k": "3", "aaa": "0"})
	want := "n top-k temp aaa zzz"
	if strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

// FuzzChatInput feeds arbitrary text through the chat's input and output
// parsers: the bracketed paste filter and the think-tag filter must give
// the same result however the text is split, and the message reader must
// never fail on a pipe.
func FuzzChatInput(f *testing.F) {
	f.Add("hi\n\"\"\"\nblock\n\"\"\"\n", 3)
	f.Add(pasteStart+"a\r\nb"+pasteEnd+"\r", 2)
	f.Add("<think>x</thi", 1)
	f.Add("a\\\nb\\", 5)
	f.Fuzz(func(t *testing.T, text string, n int) {
		n = 1 + absInt(n)%64
		whole := filterPaste(text, len(text)+1)
		if split := filterPaste(text, n); split != whole {
			t.Errorf("paste filter: %q in chunks of %d gives %q, whole %q", text, n, split, whole)
		}
		a1, t1 := thinkText(text, len(text)+1, false)
		a2, t2 := thinkText(text, n, false)
		if a1 != a2 || t1 != t2 || len(a1)+len(t1) != len(text) {
			t.Errorf("think filter: %q split by %d: (%q, %q) vs (%q, %q)", text, n, a2, t2, a1, t1)
		}
		mr := &messageReader{src: newPlainLines(bytes.NewReader([]byte(text)))}
		for range len(text) + 2 {
			if _, err := mr.read(); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("message reader: %v", err)
				}
				return
			}
		}
		t.Fatalf("message reader: more messages than lines")
	})
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
