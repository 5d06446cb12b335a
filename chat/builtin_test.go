package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// builtinConversation exercises system handling, trimming (the assistant
// turn has spaces around it) and turn boundaries.
var builtinConversation = []Message{
	{Role: "system", Content: "S"},
	{Role: "user", Content: "U1"},
	{Role: "assistant", Content: " A1 "},
	{Role: "user", Content: "U2"},
}

// TestBuiltins renders builtinConversation with every built-in format. The
// expected strings are written from llama.cpp's llm_chat_apply_template
// (src/llama-chat.cpp): want is the text with add_generation_prompt, and
// prompt the suffix that add_generation_prompt adds ("" for the formats
// that ignore it).
func TestBuiltins(t *testing.T) {
	formats := map[string]struct{ want, prompt string }{
		"chatml": {"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\n A1 <|im_end|>\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n",
			"<|im_start|>assistant\n"},
		"llama2":            {"[INST] S\nU1 [/INST] A1 </s>[INST] U2 [/INST]", ""},
		"mistral":           {"[INST] S\nU1 [/INST] A1 </s>[INST] U2 [/INST]", ""},
		"llama2-sys":        {"[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s>[INST] U2 [/INST]", ""},
		"llama2-sys-bos":    {"[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]", ""},
		"llama2-sys-strip":  {"[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST]A1</s>[INST] U2 [/INST]", ""},
		"mistral-v1":        {" [INST] S\n\nU1 [/INST]  A1 </s> [INST] U2 [/INST]", ""},
		"mistral-v3":        {"[INST] S\n\nU1[/INST] A1</s>[INST] U2[/INST]", ""},
		"mistral-v3-tekken": {"[INST]S\n\nU1[/INST] A1 </s>[INST]U2[/INST]", ""},
		"mistral-v7":        {"[SYSTEM_PROMPT] S[/SYSTEM_PROMPT][INST] U1[/INST]  A1 </s>[INST] U2[/INST]", ""},
		"mistral-v7-tekken": {"[SYSTEM_PROMPT]S[/SYSTEM_PROMPT][INST]U1[/INST] A1 </s>[INST]U2[/INST]", ""},
		"phi3":              {"<|system|>\nS<|end|>\n<|user|>\nU1<|end|>\n<|assistant|>\n A1 <|end|>\n<|user|>\nU2<|end|>\n<|assistant|>\n", "<|assistant|>\n"},
		"phi4": {"<|im_start|>system<|im_sep|>S<|im_end|><|im_start|>user<|im_sep|>U1<|im_end|><|im_start|>assistant<|im_sep|> A1 <|im_end|><|im_start|>user<|im_sep|>U2<|im_end|><|im_start|>assistant<|im_sep|>",
			"<|im_start|>assistant<|im_sep|>"},
		"falcon3": {"<|system|>\nS\n<|user|>\nU1\n<|assistant|>\n A1 \n<|user|>\nU2\n<|assistant|>\n", "<|assistant|>\n"},
		"zephyr": {"<|system|>\nS<|endoftext|>\n<|user|>\nU1<|endoftext|>\n<|assistant|>\n A1 <|endoftext|>\n<|user|>\nU2<|endoftext|>\n<|assistant|>\n",
			"<|assistant|>\n"},
		"monarch": {"system\nS</s>\n<s>user\nU1</s>\n<s>assistant\n A1 </s>\n<s>user\nU2</s>\n<s>assistant\n", "<s>assistant\n"},
		"gemma": {"<start_of_turn>user\nS\n\nU1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n<start_of_turn>user\nU2<end_of_turn>\n<start_of_turn>model\n",
			"<start_of_turn>model\n"},
		"orion": {"Human: S\n\nU1\n\nAssistant: </s> A1 </s>Human: U2\n\nAssistant: </s>", ""},
		"openchat": {"S<|end_of_turn|>GPT4 Correct User: U1<|end_of_turn|>GPT4 Correct Assistant:  A1 <|end_of_turn|>GPT4 Correct User: U2<|end_of_turn|>GPT4 Correct Assistant:",
			"GPT4 Correct Assistant:"},
		"vicuna":      {"S\n\nUSER: U1\nASSISTANT:  A1 </s>\nUSER: U2\nASSISTANT:", "ASSISTANT:"},
		"vicuna-orca": {"SYSTEM: S\nUSER: U1\nASSISTANT:  A1 </s>\nUSER: U2\nASSISTANT:", "ASSISTANT:"},
		"deepseek":    {"S### Instruction:\nU1\n### Response:\n A1 \n<|EOT|>\n### Instruction:\nU2\n### Response:\n", "### Response:\n"},
		"deepseek2":   {"S\n\nUser: U1\n\nAssistant:  A1 <｜end▁of▁sentence｜>User: U2\n\nAssistant:", "Assistant:"},
		"deepseek3":   {"S\n\n<｜User｜>U1<｜Assistant｜> A1 <｜end▁of▁sentence｜><｜User｜>U2<｜Assistant｜>", "<｜Assistant｜>"},
		"command-r": {"<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>S<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>U1<|END_OF_TURN_TOKEN|>" +
			"<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>A1<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>U2<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
			"<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"},
		"llama3": {"<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
			"<|start_header_id|>assistant<|end_header_id|>\n\n"},
		"chatglm3":   {"[gMASK]sop<|system|>\n S<|user|>\n U1<|assistant|>\n  A1 <|user|>\n U2<|assistant|>", "<|assistant|>"},
		"chatglm4":   {"[gMASK]<sop><|system|>\nS<|user|>\nU1<|assistant|>\n A1 <|user|>\nU2<|assistant|>\n", "<|assistant|>\n"},
		"glmedge":    {"<|system|>\nS<|user|>\nU1<|assistant|>\n A1 <|user|>\nU2<|assistant|>", "<|assistant|>"},
		"minicpm":    {"S<用户>U1<AI>A1<用户>U2<AI>", ""},
		"exaone3":    {"[|system|]S[|endofturn|]\n[|user|]U1\n[|assistant|]A1[|endofturn|]\n[|user|]U2\n[|assistant|]", "[|assistant|]"},
		"exaone4":    {"[|system|]S[|endofturn|]\n[|user|]U1\n[|assistant|]A1[|endofturn|]\n[|user|]U2\n[|assistant|]", "[|assistant|]"},
		"rwkv-world": {"System: S\n\nUser: U1\n\nAssistant: A1\n\nUser: U2\n\nAssistant:", ""},
		"granite": {"<|start_of_role|>system<|end_of_role|>S<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>U1<|end_of_text|>\n" +
			"<|start_of_role|>assistant<|end_of_role|> A1 <|end_of_text|>\n<|start_of_role|>user<|end_of_role|>U2<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>\n",
			"<|start_of_role|>assistant<|end_of_role|>\n"},
		"gigachat": {"<s>S<|message_sep|>user<|role_sep|>U1<|message_sep|>available functions<|role_sep|>[]<|message_sep|>assistant<|role_sep|> A1 <|message_sep|>" +
			"user<|role_sep|>U2<|message_sep|>available functions<|role_sep|>[]<|message_sep|>assistant<|role_sep|>", "assistant<|role_sep|>"},
		"megrez": {"<|role_start|>system<|role_end|>S<|turn_end|><|role_start|>user<|role_end|>U1<|turn_end|><|role_start|>assistant<|role_end|> A1 <|turn_end|>" +
			"<|role_start|>user<|role_end|>U2<|turn_end|><|role_start|>assistant<|role_end|>", "<|role_start|>assistant<|role_end|>"},
		"yandex":  {"<s> Пользователь: U1\n\n Ассистент:  A1 \n\n Пользователь: U2\n\n Ассистент:[SEP]", " Ассистент:[SEP]"},
		"bailing": {"<role>SYSTEM</role>S<role>HUMAN</role>U1<role>ASSISTANT</role> A1 <role>HUMAN</role>U2<role>ASSISTANT</role>", "<role>ASSISTANT</role>"},
		"llama4": {"<|header_start|>system<|header_end|>\n\nS<|eot|><|header_start|>user<|header_end|>\n\nU1<|eot|><|header_start|>assistant<|header_end|>\n\nA1<|eot|>" +
			"<|header_start|>user<|header_end|>\n\nU2<|eot|><|header_start|>assistant<|header_end|>\n\n", "<|header_start|>assistant<|header_end|>\n\n"},
		"smolvlm":     {"<|im_start|>S\n\nUser: U1<end_of_utterance>\nAssistant:  A1 <end_of_utterance>\nUser: U2<end_of_utterance>\nAssistant:", "Assistant:"},
		"hunyuan-moe": {"<|startoftext|>S<|extra_4|><|startoftext|>U1<|extra_0|> A1 <|eos|><|startoftext|>U2<|extra_0|>", ""},
	}
	names := BuiltinNames()
	if len(names) != len(formats) {
		t.Errorf("%d built-in formats, %d expected renderings", len(names), len(formats))
	}
	for _, name := range names {
		f, ok := formats[name]
		if !ok {
			t.Errorf("%s: no expected rendering", name)
			continue
		}
		src, ok := Builtin(name)
		if !ok {
			t.Fatalf("Builtin(%q) not found though listed", name)
		}
		tpl, err := Parse(src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, gen := range []bool{true, false} {
			want := f.want
			if !gen {
				want = strings.TrimSuffix(f.want, f.prompt)
			}
			got, err := tpl.Render(Inputs{Messages: builtinConversation, AddGenerationPrompt: gen, BOSToken: "<s>", EOSToken: "</s>"})
			if err != nil || got != want {
				t.Errorf("%s (generation prompt %v):\n got %q, %v\nwant %q", name, gen, got, err, want)
			}
		}
	}
	if _, ok := Builtin("no-such-format"); ok {
		t.Error("Builtin found a format that does not exist")
	}
}

// TestDetect maps every template of ../shared/chat to the format that
// llama.cpp's llm_chat_detect_template chooses for it (its rules in order:
// <|im_start|> before [INST], Llama 2's variants by <<SYS>>, bos_token +
// '[INST]' and content.strip(), ...).
func TestDetect(t *testing.T) {
	dir := testref.Path(t, "chat", "templates")
	want := map[string]string{
		"CohereForAI-c4ai-command-r-plus-tool_use": "command-r", "CohereForAI-c4ai-command-r7b-12-2024-tool_use": "command-r",
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": "chatml", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use": "chatml",
		"Qwen-Qwen2.5-7B-Instruct": "chatml", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": "deepseek3",
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": "deepseek3", "fireworks-ai-llama-3-firefunction-v2": "llama3",
		"google-gemma-2-2b-it": "gemma", "llama-cpp-deepseek-r1": "deepseek3", "meetkai-functionary-medium-v3.1": "llama3",
		"meetkai-functionary-medium-v3.2": "llama3", "meta-llama-Llama-3.1-8B-Instruct": "llama3",
		"meta-llama-Llama-3.2-3B-Instruct": "llama3", "meta-llama-Llama-3.3-70B-Instruct": "llama3",
		"microsoft-Phi-3.5-mini-instruct": "phi3", "mistralai-Mistral-Nemo-Instruct-2407": "mistral-v3-tekken",
		"test-ChatGLM3": "chatglm3", "test-ChatGLM4": "chatglm4", "test-CohereForAI-c4ai-command-r-plus": "command-r",
		"test-DeepSeek-V2": "deepseek2", "test-GLMEdge": "glmedge", "test-Infinigence-Megrez-3B-Instruct": "megrez",
		"test-Llama-3": "llama3", "test-MiniCPM-3B-OpenHermes-2.5-v2-GGUF": "minicpm",
		"test-Mistral-Large-Instruct-2407-v3": "mistral-v3", "test-Mistral-Nemo-Instruct-2407-v3-tekken": "mistral-v3-tekken",
		"test-Orca-Vicuna": "vicuna-orca", "test-OrionStarAI-Orion-14B-Chat": "orion", "test-Phi-3-medium": "phi3",
		"test-Phi-3-mini": "phi3", "test-Phi-3-small": "phi3", "test-Phi-3-vision": "phi3",
		"test-TheBloke-FusionNet_34Bx2_MoE-AWQ": "llama2-sys-bos", "test-ai-sage-GigaChat-20B-A3B-instruct": "gigachat",
		"test-bofenghuang-vigogne-2-70b-chat": "llama2-sys-strip", "test-deepseek-ai-deepseek-coder-33b-instruct": "deepseek",
		"test-eachadea-vicuna-13b-1.1": "vicuna", "test-google-gemma-7b-it": "gemma", "test-ibm-granite-granite-3.0-8b-instruct": "granite",
		"test-mistralai-Mistral-7B-Instruct-v0.2-pre-v1": "llama2", "test-mistralai-Mistral-7B-Instruct-v0.2-v1": "mistral-v1",
		"test-mistralai-Mistral-Large-Instruct-2411-v7": "mistral-v7", "test-mlabonne-AlphaMonarch-7B": "monarch",
		"test-openchat-openchat-3.5-0106": "openchat", "test-phi-4": "phi4", "test-teknium-OpenHermes-2.5-Mistral-7B": "chatml",
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja"))
	if err != nil || len(files) != len(want) {
		t.Fatalf("%d template files (%v), want %d", len(files), err, len(want))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".jinja")
		if got := Detect(string(src)); got != want[name] {
			t.Errorf("Detect(%s) = %q, want %q", name, got, want[name])
		}
	}
	for text, want := range map[string]string{"chatml": "chatml", "llama3": "llama3", "mistral": "mistral",
		"mistral is a wind": "llama2", "{{ messages }}": "", "": ""} {
		if got := Detect(text); got != want {
			t.Errorf("Detect(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestBuiltinsMatchTemplates renders the reference conversations with the
// built-in format llama.cpp detects for a real template, where llama.cpp's
// format is that template's, and compares with jinja2's rendering of the
// template itself (less its leading BOS, which llama.cpp's tokenizer adds).
func TestBuiltinsMatchTemplates(t *testing.T) {
	dir := testref.Path(t, "chat")
	cases, convs := loadCases(t, dir, "cases.json", "conversations.json")
	same := map[string]string{
		"test-teknium-OpenHermes-2.5-Mistral-7B": "chatml", "test-ChatGLM3": "chatglm3",
		"test-CohereForAI-c4ai-command-r-plus": "command-r", "test-DeepSeek-V2": "deepseek2", "test-google-gemma-7b-it": "gemma",
		"google-gemma-2-2b-it": "gemma", "test-mistralai-Mistral-7B-Instruct-v0.2-pre-v1": "llama2",
		"test-MiniCPM-3B-OpenHermes-2.5-v2-GGUF": "minicpm", "test-mistralai-Mistral-7B-Instruct-v0.2-v1": "mistral-v1",
		"test-mistralai-Mistral-Large-Instruct-2411-v7": "mistral-v7", "test-mlabonne-AlphaMonarch-7B": "monarch",
		"test-eachadea-vicuna-13b-1.1": "vicuna", "test-Orca-Vicuna": "vicuna-orca", "test-Phi-3-vision": "phi3",
	}
	n := 0
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c.TemplateFile), ".jinja")
		format, ok := same[name]
		if !ok || c.Expected == nil {
			continue
		}
		src, _ := Builtin(format)
		tpl, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := DecodeMessages(convs[c.Conversation])
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Render(Inputs{Messages: msgs, AddGenerationPrompt: c.AddGenerationPrompt})
		if want := strings.TrimPrefix(*c.Expected, c.BOSToken); err != nil || got != want {
			t.Errorf("%s as %s:\n got %q, %v\nwant %q", c.Name, format, got, err, want)
		}
		n++
	}
	if n != 106 {
		t.Errorf("compared %d renderings, want 106", n)
	}
}

// TestGuess picks formats from vocabularies' special tokens.
func TestGuess(t *testing.T) {
	for _, tc := range []struct {
		tokens []string
		want   string
	}{
		{[]string{"<|im_start|>", "<|im_end|>", "<|endoftext|>"}, "chatml"},
		{[]string{"<|im_start|>", "<|im_sep|>", "<|im_end|>"}, "phi4"},
		{[]string{"<start_of_turn>", "<end_of_turn>", "<bos>"}, "gemma"},
		{[]string{"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}, "llama3"},
		{[]string{"<|eot_id|>"}, "llama3"},
		{[]string{"<|header_start|>", "<|header_end|>", "<|eot|>"}, "llama4"},
		{[]string{"<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>", "<|system|>"}, "phi3"},
		{[]string{"<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]"}, "mistral-v3"},
		{[]string{"<s>", "</s>", "[INST]", "[/INST]", "[SYSTEM_PROMPT]"}, "mistral-v7"},
		{[]string{"<s>", "</s>", "[INST]"}, "llama2"},
		{[]string{"<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>"}, "command-r"},
		{[]string{"<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"}, "deepseek3"},
		{[]string{"<|start_of_role|>", "<|end_of_role|>"}, "granite"},
		{[]string{"[gMASK]", "<sop>", "<|user|>"}, "chatglm4"},
		{[]string{"<s>", "</s>", "<unk>"}, ""},
		{nil, ""},
	} {
		set := map[string]bool{}
		for _, tok := range tc.tokens {
			set[tok] = true
		}
		if got := Guess(func(s string) bool { return set[s] }); got != tc.want {
			t.Errorf("Guess(%v) = %q, want %q", tc.tokens, got, tc.want)
		}
		if tc.want != "" {
			if _, ok := Builtin(tc.want); !ok {
				t.Errorf("Guess gives %q, which is not a built-in format", tc.want)
			}
		}
	}
}
