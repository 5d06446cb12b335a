package chat

import (
	"sort"
	"strings"
)

// llama.cpp formats a conversation for a model without a usable Jinja
// template with one of its built-in formats (llm_chat_apply_template in
// src/llama-chat.cpp), chosen by name or detected from the template's text
// (llm_chat_detect_template). Each format is written here as a Jinja
// template of our own that renders what llama.cpp's C++ code writes, so
// that every path goes through the same renderer. As in llama.cpp, a
// format does not write the BOS token (the tokenizer adds it) unless the
// format itself spells "<s>" out, and some formats ignore
// add_generation_prompt. llama.cpp's trim() strips ASCII whitespace; the
// templates use |trim, which strips Python's (Unicode) whitespace.

// Helpers shared by the sources: `m` is the message, `c` its content.
const (
	forMessages = `{%- for m in messages -%}{%- set c = m['content'] -%}`
	endFor      = `{%- endfor -%}`
)

// llama2Source writes the [INST] formats of Llama 2 and its variants.
func llama2Source(system, bosInside, strip bool) string {
	content := `m['content']`
	if strip {
		content = `m['content']|trim`
	}
	sys := `{{- c ~ '\n' -}}`
	if system {
		sys = `{{- '<<SYS>>\n' ~ c ~ '\n<</SYS>>\n\n' -}}`
	}
	next := `'[INST] '`
	if bosInside {
		next = `'<s>[INST] '`
	}
	return `{{- '[INST] ' -}}{%- set ns = namespace(inside=true) -%}` +
		`{%- for m in messages -%}{%- set c = ` + content + ` -%}` +
		`{%- if not ns.inside -%}{%- set ns.inside = true -%}{{- ` + next + ` -}}{%- endif -%}` +
		`{%- if m['role'] == 'system' -%}` + sys +
		`{%- elif m['role'] == 'user' -%}{{- c ~ ' [/INST]' -}}` +
		`{%- else -%}{{- c ~ '</s>' -}}{%- set ns.inside = false -%}{%- endif -%}` + endFor
}

// mistralSource writes Mistral's v1, v3 and v3-tekken formats.
func mistralSource(leading, trailing string, trimAssistant bool) string {
	assistant := `c`
	if trimAssistant {
		assistant = `c|trim`
	}
	return `{%- set ns = namespace(inside=false) -%}` + forMessages +
		`{%- if not ns.inside -%}{{- '` + leading + `[INST]` + trailing + `' -}}{%- set ns.inside = true -%}{%- endif -%}` +
		`{%- if m['role'] == 'system' -%}{{- c ~ '\n\n' -}}` +
		`{%- elif m['role'] == 'user' -%}{{- c ~ '` + leading + `[/INST]' -}}` +
		`{%- else -%}{{- '` + trailing + `' ~ ` + assistant + ` ~ '</s>' -}}{%- set ns.inside = false -%}{%- endif -%}` + endFor
}

// mistralV7Source writes Mistral's v7 formats ([SYSTEM_PROMPT]).
func mistralV7Source(space string) string {
	return forMessages +
		`{%- if m['role'] == 'system' -%}{{- '[SYSTEM_PROMPT]` + space + `' ~ c ~ '[/SYSTEM_PROMPT]' -}}` +
		`{%- elif m['role'] == 'user' -%}{{- '[INST]` + space + `' ~ c ~ '[/INST]' -}}` +
		`{%- else -%}{{- '` + space + `' ~ c ~ '</s>' -}}{%- endif -%}` + endFor
}

// perRole writes each message as before ~ role ~ middle ~ content ~ after
// and, with add_generation_prompt, prompt at the end.
func perRole(before, middle, content, after, prompt string) string {
	s := forMessages + `{{- '` + before + `' ~ m['role'] ~ '` + middle + `' ~ ` + content + ` ~ '` + after + `' -}}` + endFor
	if prompt != "" {
		s += `{%- if add_generation_prompt -%}{{- '` + prompt + `' -}}{%- endif -%}`
	}
	return s
}

// byRole writes each message by its role (system, user, assistant, and an
// optional other branch for any other role) and the generation prompt.
func byRole(system, user, assistant, other, prompt string) string {
	s := forMessages + `{%- if m['role'] == 'system' -%}{{- ` + system + ` -}}` +
		`{%- elif m['role'] == 'user' -%}{{- ` + user + ` -}}`
	if assistant != "" {
		s += `{%- elif m['role'] == 'assistant' -%}{{- ` + assistant + ` -}}`
	}
	if other != "" {
		s += `{%- else -%}{{- ` + other + ` -}}`
	}
	s += `{%- endif -%}` + endFor
	if prompt != "" {
		s += `{%- if add_generation_prompt -%}{{- '` + prompt + `' -}}{%- endif -%}`
	}
	return s
}

var builtins = map[string]string{
	"chatml":            perRole(`<|im_start|>`, `\n`, `c`, `<|im_end|>\n`, `<|im_start|>assistant\n`),
	"llama2":            llama2Source(false, false, false),
	"llama2-sys":        llama2Source(true, false, false),
	"llama2-sys-bos":    llama2Source(true, true, false),
	"llama2-sys-strip":  llama2Source(true, false, true),
	"mistral-v1":        mistralSource(" ", " ", false),
	"mistral-v3":        mistralSource("", " ", true),
	"mistral-v3-tekken": mistralSource("", "", false),
	"mistral-v7":        mistralV7Source(" "),
	"mistral-v7-tekken": mistralV7Source(""),
	"phi3":              perRole(`<|`, `|>\n`, `c`, `<|end|>\n`, `<|assistant|>\n`),
	"phi4":              perRole(`<|im_start|>`, `<|im_sep|>`, `c`, `<|im_end|>`, `<|im_start|>assistant<|im_sep|>`),
	"falcon3":           perRole(`<|`, `|>\n`, `c`, `\n`, `<|assistant|>\n`),
	"zephyr":            perRole(`<|`, `|>\n`, `c`, `<|endoftext|>\n`, `<|assistant|>\n`),
	"monarch": forMessages + `{{- ('' if loop.first else '<s>') ~ m['role'] ~ '\n' ~ c ~ '</s>\n' -}}` + endFor +
		`{%- if add_generation_prompt -%}{{- '<s>assistant\n' -}}{%- endif -%}`,
	// Gemma has no system role: llama.cpp prepends the system text to the
	// next user turn.
	"gemma": `{%- set ns = namespace(system='') -%}` + forMessages +
		`{%- if m['role'] == 'system' -%}{%- set ns.system = ns.system ~ c|trim -%}{%- else -%}` +
		`{%- set role = 'model' if m['role'] == 'assistant' else m['role'] -%}` +
		`{{- '<start_of_turn>' ~ role ~ '\n' -}}` +
		`{%- if ns.system and role != 'model' -%}{{- ns.system ~ '\n\n' -}}{%- set ns.system = '' -%}{%- endif -%}` +
		`{{- c|trim ~ '<end_of_turn>\n' -}}{%- endif -%}` + endFor +
		`{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}`,
	"orion": `{%- set ns = namespace(system='') -%}` + forMessages +
		`{%- if m['role'] == 'system' -%}{%- set ns.system = ns.system ~ c -%}` +
		`{%- elif m['role'] == 'user' -%}{{- 'Human: ' -}}` +
		`{%- if ns.system -%}{{- ns.system ~ '\n\n' -}}{%- set ns.system = '' -%}{%- endif -%}` +
		`{{- c ~ '\n\nAssistant: </s>' -}}{%- else -%}{{- c ~ '</s>' -}}{%- endif -%}` + endFor,
	"openchat": forMessages + `{%- if m['role'] == 'system' -%}{{- c ~ '<|end_of_turn|>' -}}` +
		`{%- else -%}{{- 'GPT4 Correct ' ~ m['role'][:1]|upper ~ m['role'][1:] ~ ': ' ~ c ~ '<|end_of_turn|>' -}}{%- endif -%}` + endFor +
		`{%- if add_generation_prompt -%}{{- 'GPT4 Correct Assistant:' -}}{%- endif -%}`,
	"vicuna":      byRole(`c ~ '\n\n'`, `'USER: ' ~ c ~ '\n'`, `'ASSISTANT: ' ~ c ~ '</s>\n'`, "", `ASSISTANT:`),
	"vicuna-orca": byRole(`'SYSTEM: ' ~ c ~ '\n'`, `'USER: ' ~ c ~ '\n'`, `'ASSISTANT: ' ~ c ~ '</s>\n'`, "", `ASSISTANT:`),
	"deepseek":    byRole(`c`, `'### Instruction:\n' ~ c ~ '\n'`, `'### Response:\n' ~ c ~ '\n<|EOT|>\n'`, "", `### Response:\n`),
	"deepseek2":   byRole(`c ~ '\n\n'`, `'User: ' ~ c ~ '\n\n'`, `'Assistant: ' ~ c ~ '<｜end▁of▁sentence｜>'`, "", `Assistant:`),
	"deepseek3":   byRole(`c ~ '\n\n'`, `'<｜User｜>' ~ c`, `'<｜Assistant｜>' ~ c ~ '<｜end▁of▁sentence｜>'`, "", `<｜Assistant｜>`),
	"command-r": byRole(`'<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' ~ c|trim ~ '<|END_OF_TURN_TOKEN|>'`,
		`'<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' ~ c|trim ~ '<|END_OF_TURN_TOKEN|>'`,
		`'<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' ~ c|trim ~ '<|END_OF_TURN_TOKEN|>'`, "",
		`<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>`),
	"llama3":   perRole(`<|start_header_id|>`, `<|end_header_id|>\n\n`, `c|trim`, `<|eot_id|>`, `<|start_header_id|>assistant<|end_header_id|>\n\n`),
	"chatglm3": `{{- '[gMASK]sop' -}}` + perRole(`<|`, `|>\n `, `c`, ``, `<|assistant|>`),
	"chatglm4": `{{- '[gMASK]<sop>' -}}` + perRole(`<|`, `|>\n`, `c`, ``, `<|assistant|>\n`),
	"glmedge":  perRole(`<|`, `|>\n`, `c`, ``, `<|assistant|>`),
	"minicpm": forMessages + `{%- if m['role'] == 'user' -%}{{- '<用户>' ~ c|trim ~ '<AI>' -}}` +
		`{%- else -%}{{- c|trim -}}{%- endif -%}` + endFor,
	"exaone3": byRole(`'[|system|]' ~ c|trim ~ '[|endofturn|]\n'`, `'[|user|]' ~ c|trim ~ '\n'`,
		`'[|assistant|]' ~ c|trim ~ '[|endofturn|]\n'`, "", `[|assistant|]`),
	"exaone4": forMessages + `{%- if m['role'] == 'system' -%}{{- '[|system|]' ~ c|trim ~ '[|endofturn|]\n' -}}` +
		`{%- elif m['role'] == 'user' -%}{{- '[|user|]' ~ c|trim ~ '\n' -}}` +
		`{%- elif m['role'] == 'assistant' -%}{{- '[|assistant|]' ~ c|trim ~ '[|endofturn|]\n' -}}` +
		`{%- elif m['role'] == 'tool' -%}{{- '[|tool|]' ~ c|trim ~ '[|endofturn|]\n' -}}{%- endif -%}` + endFor +
		`{%- if add_generation_prompt -%}{{- '[|assistant|]' -}}{%- endif -%}`,
	"rwkv-world": forMessages + `{%- if m['role'] == 'system' -%}{{- 'System: ' ~ c|trim ~ '\n\n' -}}` +
		`{%- elif m['role'] == 'user' -%}{{- 'User: ' ~ c|trim ~ '\n\n' -}}{%- if loop.last -%}{{- 'Assistant:' -}}{%- endif -%}` +
		`{%- elif m['role'] == 'assistant' -%}{{- 'Assistant: ' ~ c|trim ~ '\n\n' -}}{%- endif -%}` + endFor,
	"granite": forMessages + `{{- '<|start_of_role|>' ~ m['role'] ~ '<|end_of_role|>' -}}` +
		`{%- if m['role'] == 'assistant_tool_call' -%}{{- '<|tool_call|>' -}}{%- endif -%}` +
		`{{- c ~ '<|end_of_text|>\n' -}}` + endFor +
		`{%- if add_generation_prompt -%}{{- '<|start_of_role|>assistant<|end_of_role|>\n' -}}{%- endif -%}`,
	"gigachat": `{%- if messages and messages[0]['role'] == 'system' -%}{{- '<s>' ~ messages[0]['content'] ~ '<|message_sep|>' -}}` +
		`{%- set rest = messages[1:] -%}{%- else -%}{{- '<s>' -}}{%- set rest = messages -%}{%- endif -%}` +
		`{%- for m in rest -%}{%- set c = m['content'] -%}` +
		`{%- if m['role'] == 'user' -%}{{- 'user<|role_sep|>' ~ c ~ '<|message_sep|>available functions<|role_sep|>[]<|message_sep|>' -}}` +
		`{%- elif m['role'] == 'assistant' -%}{{- 'assistant<|role_sep|>' ~ c ~ '<|message_sep|>' -}}{%- endif -%}` + endFor +
		`{%- if add_generation_prompt -%}{{- 'assistant<|role_sep|>' -}}{%- endif -%}`,
	"megrez": perRole(`<|role_start|>`, `<|role_end|>`, `c`, `<|turn_end|>`, `<|role_start|>assistant<|role_end|>`),
	"yandex": `{{- '<s>' -}}` + forMessages + `{%- if m['role'] == 'user' -%}{{- ' Пользователь: ' ~ c ~ '\n\n' -}}` +
		`{%- elif m['role'] == 'assistant' -%}{{- ' Ассистент: ' ~ c ~ '\n\n' -}}{%- endif -%}` + endFor +
		`{%- if add_generation_prompt -%}{{- ' Ассистент:[SEP]' -}}{%- endif -%}`,
	"bailing": forMessages + `{{- '<role>' ~ ('HUMAN' if m['role'] == 'user' else m['role']|upper) ~ '</role>' ~ c -}}` + endFor +
		`{%- if add_generation_prompt -%}{{- '<role>ASSISTANT</role>' -}}{%- endif -%}`,
	"llama4": perRole(`<|header_start|>`, `<|header_end|>\n\n`, `c|trim`, `<|eot|>`, `<|header_start|>assistant<|header_end|>\n\n`),
	"smolvlm": `{{- '<|im_start|>' -}}` + byRole(`c ~ '\n\n'`, `'User: ' ~ c ~ '<end_of_utterance>\n'`, "",
		`'Assistant: ' ~ c ~ '<end_of_utterance>\n'`, `Assistant:`),
	"hunyuan-moe": byRole(`'<|startoftext|>' ~ c ~ '<|extra_4|>'`, `'<|startoftext|>' ~ c ~ '<|extra_0|>'`,
		`c ~ '<|eos|>'`, `'<|startoftext|>' ~ c ~ '<|extra_0|>'`, ""),
}

func init() {
	// llama.cpp resolves "mistral" (a name it does not list) by detection,
	// and a text starting with "mistral" without [SYSTEM_PROMPT] or the v1/v3
	// markers is Llama 2's format.
	builtins["mistral"] = builtins["llama2"]
}

// Builtin returns the Jinja source of a built-in format by llama.cpp's name
// for it (see BuiltinNames).
func Builtin(name string) (source string, ok bool) {
	source, ok = builtins[name]
	return source, ok
}

// BuiltinNames lists the built-in formats, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Detect returns the built-in format llama.cpp's llm_chat_detect_template
// maps a template's text to, or "" when it maps it to none of the formats
// provided here (llama.cpp's kimi-k2, hunyuan-dense and dots1 are not).
// A text that is a format's name maps to that format.
func Detect(templateSource string) string {
	t := templateSource
	if _, ok := builtins[t]; ok {
		return t
	}
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case has("<|im_start|>"):
		switch {
		case has("<|im_sep|>"):
			return "phi4"
		case has("<end_of_utterance>"):
			return "smolvlm"
		}
		return "chatml"
	case strings.HasPrefix(t, "mistral") || has("[INST]"):
		switch {
		case has("[SYSTEM_PROMPT]"):
			return "mistral-v7"
		case has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]"):
			switch {
			case has(" [INST]"):
				return "mistral-v1"
			case has(`"[INST]"`):
				return "mistral-v3-tekken"
			}
			return "mistral-v3"
		case has("content.strip()"):
			return "llama2-sys-strip"
		case has("bos_token + '[INST]"):
			return "llama2-sys-bos"
		case has("<<SYS>>"):
			return "llama2-sys"
		}
		return "llama2"
	case has("<|assistant|>") && has("<|end|>"):
		return "phi3"
	case has("[gMASK]<sop>"):
		return "chatglm4"
	case has("<|assistant|>") && has("<|user|>"):
		if has("</s>") {
			return "falcon3"
		}
		return "glmedge"
	case has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>"):
		return "glmedge"
	case has("<|user|>") && has("<|endoftext|>"):
		return "zephyr"
	case has("bos_token + message['role']"):
		return "monarch"
	case has("<start_of_turn>"):
		return "gemma"
	case has(`'\n\nAssistant: ' + eos_token`):
		return "orion"
	case has("GPT4 Correct "):
		return "openchat"
	case has("USER: ") && has("ASSISTANT: "):
		if has("SYSTEM: ") {
			return "vicuna-orca"
		}
		return "vicuna"
	case has("### Instruction:") && has("<|EOT|>"):
		return "deepseek"
	case has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>"):
		return "command-r"
	case has("<|start_header_id|>") && has("<|end_header_id|>"):
		return "llama3"
	case has("[gMASK]sop"):
		return "chatglm3"
	case has("<用户>"):
		return "minicpm"
	case has("'Assistant: ' + message['content'] + eos_token"):
		return "deepseek2"
	case has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>"):
		return "deepseek3"
	case has("[|system|]") && has("[|assistant|]") && has("[|endofturn|]"):
		if has("[|tool|]") {
			return "exaone4"
		}
		return "exaone3"
	case has("rwkv-world") || has(`{{- 'User: ' + message['content']|trim + '\n\n' -}}`):
		return "rwkv-world"
	case has("<|start_of_role|>"):
		return "granite"
	case has("message['role'] + additional_special_tokens[0] + message['content'] + additional_special_tokens[1]"):
		return "gigachat"
	case has("<|role_start|>"):
		return "megrez"
	case has(" Ассистент:"):
		return "yandex"
	case has("<role>ASSISTANT</role>") && has("'HUMAN'"):
		return "bailing"
	case has("<|header_start|>") && has("<|header_end|>"):
		return "llama4"
	case has("<|startoftext|>") && has("<|extra_4|>"):
		return "hunyuan-moe"
	}
	return ""
}

// Guess picks a built-in format for a model that carries no template at
// all, from the special tokens its vocabulary has (hasToken reports whether
// a token's text is exactly the given string). It returns "" when nothing
// fits; llama.cpp then uses chatml.
func Guess(hasToken func(text string) bool) string {
	all := func(texts ...string) bool {
		for _, t := range texts {
			if !hasToken(t) {
				return false
			}
		}
		return true
	}
	switch {
	case all("<|im_start|>", "<|im_sep|>"):
		return "phi4"
	case all("<|im_start|>", "<end_of_utterance>"):
		return "smolvlm"
	case all("<|im_start|>"):
		return "chatml"
	case all("<start_of_turn>"):
		return "gemma"
	case all("<|header_start|>", "<|header_end|>"):
		return "llama4"
	case all("<|start_header_id|>") || all("<|eot_id|>"):
		return "llama3"
	case all("<|user|>", "<|end|>"):
		return "phi3"
	case all("[gMASK]", "<sop>"):
		return "chatglm4"
	case all("<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"):
		return "command-r"
	case all("<|start_of_role|>"):
		return "granite"
	case all("[SYSTEM_PROMPT]"):
		return "mistral-v7"
	case all("[INST]", "[AVAILABLE_TOOLS]"):
		return "mistral-v3"
	case all("[INST]"):
		return "llama2"
	case all("<｜User｜>", "<｜Assistant｜>"):
		return "deepseek3"
	case all("<|EOT|>"):
		return "deepseek"
	case all("<|end_of_turn|>"):
		return "openchat"
	case all("[|endofturn|]", "[|tool|]"):
		return "exaone4"
	case all("[|endofturn|]"):
		return "exaone3"
	case all("<|role_start|>"):
		return "megrez"
	case all("<|message_sep|>", "<|role_sep|>"):
		return "gigachat"
	case all("<用户>"):
		return "minicpm"
	}
	return ""
}
