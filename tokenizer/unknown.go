package tokenizer

// Unencodable returns the characters of text that the vocabulary cannot
// represent, each once, in order of first appearance, given ids =
// t.Encode(text, ...): the characters that an SPM vocabulary turned into its
// unknown token, or that a vocabulary without byte fallback (or without
// every byte) dropped. It finds them by joining the pieces of ids (control
// tokens as their text, and without Detokenize's clean-up of spaces, which
// would make a space look lost) and listing the characters of text that
// the result lacks; so a prompt the model sees in full gives none.
func (t *Tokenizer) Unencodable(text string, ids []int32) []rune {
	var pieces []byte
	for _, id := range ids {
		pieces = append(pieces, t.PieceSpecial(id)...)
	}
	decoded := map[rune]bool{}
	for _, r := range string(pieces) {
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
