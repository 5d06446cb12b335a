package tokenizer

// Unencodable returns the characters of text that the vocabulary cannot
// represent, each once, in order of first appearance, given ids =
// t.Encode(text, ...): the characters that an SPM vocabulary turned into its
// unknown token, or that a vocabulary without byte fallback (or without
// every byte) dropped. It finds them by decoding ids, with control tokens
// rendered as their text, and listing the characters of text that the
// decoded text lacks; so a prompt the model sees in full gives none.
func (t *Tokenizer) Unencodable(text string, ids []int32) []rune {
	decoded := map[rune]bool{}
	for _, r := range t.Detokenize(ids, false, true) {
		decoded[r] = true
	}
	var missing []rune
	seen := map[rune]bool{}
	for _, r := range text {
		if !decoded[r] && !seen[r] {
			seen[r] = true
			missing = append(missing, r)
		}
	}
	return missing
}
