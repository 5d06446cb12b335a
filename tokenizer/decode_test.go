package tokenizer

import (
	"strings"
	"testing"
)

func TestPieces(t *testing.T) {
	spm := mustLoad(t, spmVocab([]string{"▁a", "<u>", "<x>"}, nil,
		map[string]int32{"<u>": typeUserDefined, "<x>": typeUnused}))
	bpe := mustLoad(t, bpeVocab([]string{"Ġt", "Ġ\u4e16"}, []string{"Ġ t"}))
	tests := []struct {
		name    string
		tok     *Tokenizer
		id      int32
		piece   string
		special string
	}{
		{"spm normal", spm, idOf(t, spm, "▁a"), " a", " a"},
		{"spm byte", spm, 3 + 0x0A, "\n", "\n"},
		{"spm control", spm, 1, "", "<s>"},
		{"spm unknown", spm, 0, "", "<unk>"},
		{"spm user-defined", spm, idOf(t, spm, "<u>"), "<u>", "<u>"},
		{"spm unused", spm, idOf(t, spm, "<x>"), "", ""},
		{"spm out of range", spm, 1 << 20, "", ""},
		{"spm negative", spm, -1, "", ""},
		{"bpe byte-level", bpe, idOf(t, bpe, "Ġt"), " t", " t"},
		{"bpe byte", bpe, 0xE4, "\xe4", "\xe4"},
		// 世 is not one of GPT-2's byte characters; llama.cpp shows it.
		{"bpe foreign", bpe, idOf(t, bpe, "Ġ\u4e16"), " [UNK_BYTE_0xe4b896Ġ\u4e16]", " [UNK_BYTE_0xe4b896Ġ\u4e16]"},
	}
	for _, tc := range tests {
		if got := string(tc.tok.Piece(tc.id)); got != tc.piece {
			t.Errorf("%s: Piece(%d) = %q, want %q", tc.name, tc.id, got, tc.piece)
		}
		if got := string(tc.tok.PieceSpecial(tc.id)); got != tc.special {
			t.Errorf("%s: PieceSpecial(%d) = %q, want %q", tc.name, tc.id, got, tc.special)
		}
	}
}

func TestDetokenize(t *testing.T) {
	spm := mustLoad(t, spmVocab([]string{"▁a", "▁", "▁b"}, nil, nil))
	spA, sp, spB := idOf(t, spm, "▁a"), idOf(t, spm, "▁"), idOf(t, spm, "▁b")
	bpe := mustLoad(t, bpeVocab(nil, []string{"x y"}))
	ascii := func(s string) []int32 { // ids equal bytes in bpeVocab
		var ids []int32
		for i := 0; i < len(s); i++ {
			ids = append(ids, int32(s[i]))
		}
		return ids
	}
	tests := []struct {
		name                   string
		tok                    *Tokenizer
		ids                    []int32
		removeSpecial, unparse bool
		want                   string
	}{
		{"spm strips the first space", spm, []int32{spA, spB}, false, false, "a b"},
		{"spm strips one space only", spm, []int32{sp, spA}, false, false, " a"},
		{"spm BOS keeps the space", spm, []int32{1, spA}, false, false, " a"},
		{"spm BOS removed keeps the space", spm, []int32{1, spA}, true, false, " a"},
		{"spm BOS rendered", spm, []int32{1, spA, 2}, false, true, "<s> a</s>"},
		{"spm EOS is not added so not removed", spm, []int32{spA, 2}, true, true, "a</s>"},
		{"bpe cleans punctuation", bpe, ascii("Hi , there ! ok ."), false, false, "Hi, there! ok."},
		{"bpe cleans lone quote", bpe, ascii("a ' b ' c"), false, false, "a'b'c"},
		{"bpe cleans contractions", bpe, ascii("it 's I 'm we 're they 've you 'll I 'd don 't"), false, false, "it's I'm we're they've you 'll I 'd don 't"},
		// llama.cpp blanks the space after a matched quote, so the second
		// quote, though between spaces, is left alone.
		{"bpe lone quote twice", bpe, ascii("a ' ' b"), false, false, "a'' b"},
	}
	for _, tc := range tests {
		if got := tc.tok.Detokenize(tc.ids, tc.removeSpecial, tc.unparse); got != tc.want {
			t.Errorf("%s: Detokenize = %q, want %q", tc.name, got, tc.want)
		}
	}
	qwen := mustLoad(t, bpeVocab(nil, []string{"x y"}).with(keyPre, "qwen2"))
	if got := qwen.Decode(ascii("Hi , there")); got != "Hi , there" {
		t.Errorf("qwen2 does not clean spaces: Decode = %q", got)
	}
}

func TestStreamDecoder(t *testing.T) {
	spm := mustLoad(t, spmVocab([]string{"▁a"}, nil, nil))
	byteTok := func(b byte) int32 { return int32(3 + int(b)) }
	d := spm.NewStreamDecoder()
	var out []string
	for _, id := range []int32{1, idOf(t, spm, "▁a"), byteTok(0xF0), byteTok(0x9F), byteTok(0xA6), byteTok(0x99), byteTok('!')} {
		out = append(out, d.Push(id))
	}
	// BOS renders as nothing, the llama emoji waits for its fourth byte.
	want := []string{"", " a", "", "", "", "🦙", "!"}
	if strings.Join(out, "|") != strings.Join(want, "|") {
		t.Errorf("pushes gave %q, want %q", out, want)
	}
	if rest := d.Flush(); rest != "" {
		t.Errorf("Flush after complete text = %q", rest)
	}

	// An incomplete character at the end comes out as U+FFFD on Flush; a
	// byte that cannot start a character comes out as U+FFFD at once.
	if got := d.Push(byteTok(0xE2)) + d.Push(byteTok(0x82)); got != "" {
		t.Errorf("partial euro sign gave %q", got)
	}
	if got := d.Flush(); got != "\uFFFD\uFFFD" {
		t.Errorf("Flush = %q, want two U+FFFD", got)
	}
	if got := d.Push(byteTok(0xFF)); got != "\uFFFD" {
		t.Errorf("Push(0xFF) = %q", got)
	}
	if got := d.Push(byteTok(0xE2)) + d.Push(byteTok('x')); got != "\uFFFDx" {
		t.Errorf("broken sequence gave %q, want U+FFFD then x", got)
	}
	d.Special = true
	if got := d.Push(2); got != "</s>" {
		t.Errorf("Special Push(EOS) = %q", got)
	}
}
