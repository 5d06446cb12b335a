package main

import (
	"fmt"
	"strings"

	"github.com/infer-go/infer/chat"
)

// turnStarts returns the index of each turn of msgs: a turn begins at a
// user message and runs to the next one. Messages before the first user
// message belong to the first turn.
func turnStarts(msgs []chat.Message) []int {
	var starts []int
	for i, m := range msgs {
		if i == 0 || m.Role == "user" {
			starts = append(starts, i)
		}
	}
	return starts
}

// dropOldestTurns removes whole turns from the front of msgs (the system
// prompt is not among them) until fits accepts what is left, never the last
// turn: that is the one being answered. It returns what is left and how
// many turns went; when even the last turn alone does not fit, it returns
// that turn and leaves the verdict to the caller.
func dropOldestTurns(msgs []chat.Message, fits func([]chat.Message) (bool, error)) ([]chat.Message, int, error) {
	dropped := 0
	for {
		ok, err := fits(msgs)
		if err != nil || ok {
			return msgs, dropped, err
		}
		starts := turnStarts(msgs)
		if len(starts) < 2 {
			return msgs, dropped, nil
		}
		msgs = msgs[starts[1]:]
		dropped++
	}
}

// replyRoom is the context kept free for a reply when turns are dropped:
// the reply limit when there is one, else a quarter of the context, and
// never more than half of it.
func replyRoom(maxTokens, contextLength int) int {
	if maxTokens > 0 {
		return min(maxTokens, contextLength/2)
	}
	return contextLength / 4
}

// chatPrompt is a rendered conversation and the tokens the session is given
// for it.
type chatPrompt struct {
	text   string
	tokens []int32
}

// prompt renders msgs (the system prompt first, if any) and tokenizes the
// rendering. When the rendering extends what the session was last fed (the
// previous prompt and the reply it generated), only the new text is
// tokenized and appended to the tokens fed before, as llama.cpp's
// llama-cli does: the session then finds the whole history in its cache,
// token for token as the model produced it, and a turn costs its own
// tokens.
func (r *chatREPL) prompt(msgs []chat.Message, addGenerationPrompt bool) (chatPrompt, error) {
	text, err := r.format.render(r.withSystem(msgs), addGenerationPrompt)
	if err != nil {
		return chatPrompt{}, fmt.Errorf("rendering the conversation with template %s: %w", r.format.name, err)
	}
	if r.fed.text != "" && len(text) > len(r.fed.text) && strings.HasPrefix(text, r.fed.text) {
		tokens := append([]int32(nil), r.fed.tokens...)
		tokens = append(tokens, r.m.Tokenize(text[len(r.fed.text):], false, true)...)
		return chatPrompt{text: text, tokens: tokens}, nil
	}
	return chatPrompt{text: text, tokens: r.format.tokenize(text)}, nil
}

// withSystem puts the system prompt in front of msgs.
func (r *chatREPL) withSystem(msgs []chat.Message) []chat.Message {
	if r.system == "" {
		return msgs
	}
	return append([]chat.Message{{Role: "system", Content: r.system}}, msgs...)
}

// fitPrompt renders r.msgs (with the generation prompt when asked),
// dropping the oldest turns while the prompt and room for a reply do not
// fit the context. It
// returns the prompt and the number of turns dropped (then gone from
// r.msgs). A last turn too long for the context even alone is an error,
// and leaves r.msgs as it was.
func (r *chatREPL) fitPrompt(addGenerationPrompt bool) (chatPrompt, int, error) {
	n := r.sess.ContextLength()
	room := replyRoom(r.maxTokens, n)
	if !addGenerationPrompt {
		room = 0
	}
	// Once turns must go, a further quarter of the context is freed: the
	// turns that follow then fit without dropping again, and each drop
	// (which re-evaluates the whole prompt: its start has changed) is paid
	// once every few turns rather than at every turn.
	limit := n
	var p chatPrompt
	kept, dropped, err := dropOldestTurns(r.msgs, func(msgs []chat.Message) (bool, error) {
		var err error
		p, err = r.prompt(msgs, addGenerationPrompt)
		ok := err == nil && len(p.tokens)+room <= limit
		limit = n - n/4
		return ok, err
	})
	if err != nil {
		return chatPrompt{}, 0, err
	}
	if len(p.tokens) >= n {
		// r.msgs stays as it was: a message that cannot fit costs no history.
		return chatPrompt{}, 0, fmt.Errorf("the message is too long: the prompt is %d tokens and the context holds %d (raise -c or send less)", len(p.tokens), n)
	}
	r.msgs = kept
	return p, dropped, nil
}

// oldestTurns says how many turns were dropped: "the oldest turn", "the 2
// oldest turns".
func oldestTurns(n int) string {
	if n == 1 {
		return "the oldest turn"
	}
	return fmt.Sprintf("the %d oldest turns", n)
}
