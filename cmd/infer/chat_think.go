package main

import "strings"

// The tags reasoning models (DeepSeek-R1, Qwen3, QwQ ...) put around their
// thinking.
const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// textSpan is a piece of a reply: thinking (tags included) or the answer.
type textSpan struct {
	text  string
	think bool
}

// thinkFilter splits streamed text into thinking and answer. The tags may
// arrive split across tokens, so a tail that may begin a tag is held back
// until the next piece decides it.
type thinkFilter struct {
	inThink bool
	held    string
}

// push returns the spans that text releases.
func (f *thinkFilter) push(text string) []textSpan {
	var spans []textSpan
	s := f.held + text
	f.held = ""
	for s != "" {
		tag := thinkOpen
		if f.inThink {
			tag = thinkClose
		}
		if i := strings.Index(s, tag); i >= 0 {
			if f.inThink {
				spans = appendSpan(spans, s[:i+len(tag)], true)
			} else {
				spans = appendSpan(spans, s[:i], false)
				spans = appendSpan(spans, tag, true)
			}
			s = s[i+len(tag):]
			f.inThink = !f.inThink
			continue
		}
		keep := partialSuffix(s, tag)
		spans = appendSpan(spans, s[:len(s)-keep], f.inThink)
		f.held = s[len(s)-keep:]
		break
	}
	return spans
}

// flush releases what is held back at the end of a reply.
func (f *thinkFilter) flush() []textSpan {
	s := f.held
	f.held = ""
	return appendSpan(nil, s, f.inThink)
}

func appendSpan(spans []textSpan, text string, think bool) []textSpan {
	if text == "" {
		return spans
	}
	if n := len(spans); n > 0 && spans[n-1].think == think {
		spans[n-1].text += text
		return spans
	}
	return append(spans, textSpan{text: text, think: think})
}

// partialSuffix is the length of the longest proper prefix of tag that s
// ends with.
func partialSuffix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}

// promptOpensThink reports whether a rendered prompt ends inside a think
// block, as templates that force reasoning (DeepSeek-R1's "<think>\n") do:
// the reply then starts with thinking and only the closing tag appears.
func promptOpensThink(rendered string) bool {
	i := strings.LastIndex(rendered, thinkOpen)
	return i >= 0 && !strings.Contains(rendered[i:], thinkClose) && strings.TrimSpace(rendered[i+len(thinkOpen):]) == ""
}
