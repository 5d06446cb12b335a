package server

import (
	"net/http"
	"unicode/utf8"
)

// tokenizeRequest is llama-server's POST /tokenize body.
type tokenizeRequest struct {
	Content      *string `json:"content"`
	AddSpecial   bool    `json:"add_special"`
	ParseSpecial *bool   `json:"parse_special"` // default true, as llama-server
	WithPieces   bool    `json:"with_pieces"`
}

// detokenizeRequest is llama-server's POST /detokenize body.
type detokenizeRequest struct {
	Tokens []int64 `json:"tokens"`
}

// handleTokenize answers {"tokens": [ids]}, or with with_pieces
// {"tokens": [{"id": id, "piece": text}]}, a piece that is not valid UTF-8
// (part of a character) given as its bytes, as llama-server does.
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	var req tokenizeRequest
	if e := decodeBody(body, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Content == nil {
		writeError(w, badRequest("content", "content: missing (the text to tokenize)"))
		return
	}
	parseSpecial := req.ParseSpecial == nil || *req.ParseSpecial
	ids := s.m.Tokenize(*req.Content, req.AddSpecial, parseSpecial)
	if !req.WithPieces {
		writeJSON(w, http.StatusOK, map[string]any{"tokens": ids})
		return
	}
	tok := s.m.Tokenizer()
	out := make([]any, len(ids))
	for i, id := range ids {
		piece := tok.PieceSpecial(id)
		var p any = string(piece)
		if !utf8.Valid(piece) {
			bs := make([]int, len(piece))
			for j, b := range piece {
				bs[j] = int(b)
			}
			p = bs
		}
		out[i] = map[string]any{"id": id, "piece": p}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// handleDetokenize answers {"content": text}.
func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	var req detokenizeRequest
	if e := decodeBody(body, &req); e != nil {
		writeError(w, e)
		return
	}
	vocab := s.m.Config().VocabSize
	ids := make([]int32, len(req.Tokens))
	for i, id := range req.Tokens {
		if id < 0 || id >= int64(vocab) {
			writeError(w, badRequest("tokens", "tokens[%d]: %d is outside the vocabulary of %d tokens", i, id, vocab))
			return
		}
		ids[i] = int32(id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": s.m.Detokenize(ids)})
}
