package tokenizer

import (
	"slices"
	"testing"
)

func TestSPMMergeOrder(t *testing.T) {
	pieces := []string{"▁", "a", "b", "c", "ab", "bc"}
	tests := []struct {
		name   string
		scores map[string]float32
		want   []string
	}{
		// Equal scores: the leftmost pair merges first.
		{"tie goes left", map[string]float32{"ab": -1, "bc": -1}, []string{"ab", "c"}},
		{"higher score wins", map[string]float32{"ab": -2, "bc": -1}, []string{"a", "bc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustLoad(t, spmVocab(pieces, tc.scores, nil).with(keyAddSpacePrefix, false))
			var want []int32
			for _, p := range tc.want {
				want = append(want, idOf(t, tok, p))
			}
			if got := tok.Encode("abc", false, false); !slices.Equal(got, want) {
				t.Errorf("Encode(abc) = %v, want %v", got, want)
			}
		})
	}
}

func TestSPMSpacesAndByteFallback(t *testing.T) {
	tok := mustLoad(t, spmVocab([]string{"▁", "▁a", "a"}, nil, nil))
	sp, spA, a := idOf(t, tok, "▁"), idOf(t, tok, "▁a"), idOf(t, tok, "a")
	byteTok := func(b byte) int32 { return int32(3 + int(b)) }
	tests := []struct {
		text string
		want []int32
	}{
		{"", nil},
		{"a", []int32{spA}},
		{" a", []int32{sp, spA}},
		{"aa a", []int32{spA, a, spA}},
		// é is not in the vocabulary: its UTF-8 bytes stand in.
		{"é", []int32{sp, byteTok(0xC3), byteTok(0xA9)}},
		// Invalid UTF-8 falls back to its bytes just the same.
		{"\xff", []int32{sp, byteTok(0xFF)}},
		{"\xe4a", []int32{sp, byteTok(0xE4), byteTok('a')}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text, false, false); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
	if got := tok.Encode("", true, false); !slices.Equal(got, []int32{1}) {
		t.Errorf("Encode(\"\", addSpecial) = %v, want [BOS]", got)
	}
	noPrefix := mustLoad(t, spmVocab([]string{"▁", "▁a", "a"}, nil, nil).with(keyAddSpacePrefix, false))
	if got := noPrefix.Encode("a", false, false); !slices.Equal(got, []int32{a}) {
		t.Errorf("without add_space_prefix: Encode(a) = %v, want [%d]", got, a)
	}
}

func TestSpecialTokenSplitting(t *testing.T) {
	md := spmVocab([]string{"▁", "▁a", "a", "<|user|>", "<|end|>", "<|end|>x"},
		nil, map[string]int32{"<|user|>": typeUserDefined, "<|end|>": typeControl, "<|end|>x": typeControl})
	tok := mustLoad(t, md)
	sp, spA := idOf(t, tok, "▁"), idOf(t, tok, "▁a")
	user, end, endx := idOf(t, tok, "<|user|>"), idOf(t, tok, "<|end|>"), idOf(t, tok, "<|end|>x")
	tests := []struct {
		text  string
		parse bool
		want  []int32
	}{
		// User-defined tokens split out always; the text after a special
		// token gets the SentencePiece space again.
		{"a<|user|>a", false, []int32{spA, user, spA}},
		{"<|user|> a", false, []int32{user, sp, spA}},
		// Control tokens only with parseSpecial; the longer one first.
		{"a<|end|>xa", true, []int32{spA, endx, spA}},
		{"<|end|><|end|>", true, []int32{end, end}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text, false, tc.parse); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q, parse=%v) = %v, want %v", tc.text, tc.parse, got, tc.want)
		}
	}
	// Without parsing, "<|end|>" is plain text.
	got := tok.Encode("<|end|>", false, false)
	if slices.Contains(got, end) || tok.Decode(got) != "<|end|>" {
		t.Errorf("Encode(<|end|>, parse=false) = %v (%q), want text tokens", got, tok.Decode(got))
	}

	// Phi-3's tokens swallow the spaces after them (rstrip), as llama.cpp
	// hard-codes for models named phi-3.
	phi := mustLoad(t, md.with(keyGeneralName, "Phi3"))
	if got, want := phi.Encode("<|user|>  a", false, false), []int32{user, spA}; !slices.Equal(got, want) {
		t.Errorf("phi3 rstrip: Encode = %v, want %v", got, want)
	}
}

func TestEOGDetection(t *testing.T) {
	tok := mustLoad(t, spmVocab([]string{"▁a", "<|im_end|>", "<|eot_id|>"}, nil, nil))
	imEnd, eot := idOf(t, tok, "<|im_end|>"), idOf(t, tok, "<|eot_id|>")
	if !tok.IsEOG(imEnd) || !tok.IsEOG(eot) || !tok.IsEOG(tok.EOS()) || tok.IsEOG(idOf(t, tok, "▁a")) || tok.IsEOG(-1) || tok.IsEOG(1<<30) {
		t.Errorf("EOG set = %v", tok.EOGTokens())
	}
	// Recognised by text, they become control tokens: decoded as nothing.
	if !tok.IsControl(imEnd) || len(tok.Piece(imEnd)) != 0 || string(tok.PieceSpecial(imEnd)) != "<|im_end|>" {
		t.Errorf("<|im_end|>: control %v piece %q", tok.IsControl(imEnd), tok.Piece(imEnd))
	}
	if tok.EOT() != imEnd {
		t.Errorf("EOT = %d, want the first candidate %d", tok.EOT(), imEnd)
	}
}

func TestBPEMerges(t *testing.T) {
	tests := []struct {
		name   string
		extra  []string
		merges []string
		pre    string
		text   string
		want   []string
	}{
		{"chain", []string{"Ġt", "he", "Ġthe"}, []string{"Ġ t", "h e", "Ġt he"}, "gpt-2", " the", []string{"Ġthe"}},
		{"lower rank first", []string{"ab", "bc"}, []string{"a b", "b c"}, "gpt-2", "abc", []string{"ab", "c"}},
		{"rank decides", []string{"ab", "bc"}, []string{"b c", "a b"}, "gpt-2", "abc", []string{"a", "bc"}},
		{"same pair goes left", []string{"aa"}, []string{"a a"}, "gpt-2", "aaa", []string{"aa", "a"}},
		// llama-bpe takes a word that is a token whole, merges or not.
		{"ignore merges", []string{"abc"}, []string{"x y"}, "llama-bpe", "abc", []string{"abc"}},
		{"no ignore merges", []string{"abc"}, []string{"x y"}, "gpt-2", "abc", []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustLoad(t, bpeVocab(tc.extra, tc.merges).with(keyPre, tc.pre))
			var want []int32
			for _, p := range tc.want {
				want = append(want, idOf(t, tok, p))
			}
			if got := tok.Encode(tc.text, false, false); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, want)
			}
		})
	}
}

func TestBPEInvalidUTF8(t *testing.T) {
	tok := mustLoad(t, bpeVocab(nil, []string{"x y"}))
	// Each bad byte is read as U+FFFD (EF BF BD), as llama.cpp does; ids
	// equal byte values in this vocabulary.
	got := tok.Encode("a\xffb\xe2\x82", false, false)
	want := []int32{'a', 0xEF, 0xBF, 0xBD, 'b', 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD}
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}
