package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/tokenizer"
)

func init() {
	register(command{name: "template", summary: "render a chat template for a conversation, as transformers does", run: runTemplate})
}

// optionalString is a string flag that knows whether it was given, so
// that an explicit empty --bos-token "" differs from none.
type optionalString struct {
	value string
	set   bool
}

func (o *optionalString) String() string { return o.value }

func (o *optionalString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}

// maxInputFile bounds the messages and tools files read.
const maxInputFile = 64 << 20

func runTemplate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("template", stderr)
	model := fs.String("m", "", "model or vocabulary file (GGUF): its chat template and BOS/EOS tokens")
	fs.StringVar(model, "model", "", "same as -m")
	tmplFlag := fs.String("template", "", "a template `FILE`, a built-in format NAME (see below), or model:NAME for a named template of -m")
	messagesFile := fs.String("messages", "", "JSON `FILE` (- for standard input): an array of messages, or a chat request with \"messages\" (and \"tools\")")
	toolsFile := fs.String("tools", "", "JSON `FILE`: an array of tool definitions (default: the request's tools, else none)")
	addGen := fs.Bool("add-generation-prompt", false, "end with the opening of the assistant's turn")
	nowFlag := fs.String("now", "", "render as if the time were `TIME` (RFC 3339, or YYYY-MM-DD at midnight UTC) for strftime_now; default: the clock")
	var bos, eos optionalString
	fs.Var(&bos, "bos-token", "`text` of bos_token (default: the model's BOS token, else empty)")
	fs.Var(&eos, "eos-token", "`text` of eos_token (default: the model's EOS token, else empty)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer template [-m model.gguf | --template FILE|NAME] --messages FILE [flags]")
		fmt.Fprintln(stderr, "Prints the rendering exactly, with no newline added. A template error exits 1 with \"template error: ...\".")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "built-in formats:", strings.Join(chat.BuiltinNames(), ", "))
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *messagesFile == "":
		return usagef("no conversation: give --messages FILE")
	case *model == "" && *tmplFlag == "":
		return usagef("no template: give -m model.gguf or --template FILE|NAME")
	}

	var templates map[string]string
	var bosText, eosText string
	if *model != "" {
		var err error
		if templates, bosText, eosText, err = modelChatInfo(*model); err != nil {
			return err
		}
	}
	source, err := pickTemplate(*tmplFlag, templates)
	if err != nil {
		return err
	}
	if bos.set {
		bosText = bos.value
	}
	if eos.set {
		eosText = eos.value
	}

	var now func() time.Time
	if *nowFlag != "" {
		at, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			if at, err = time.Parse(time.DateOnly, *nowFlag); err != nil {
				return usagef("--now %q: want RFC 3339 (2024-07-26T12:00:00Z) or a date (2024-07-26)", *nowFlag)
			}
		}
		now = func() time.Time { return at }
	}

	msgs, requestTools, err := readConversation(*messagesFile)
	if err != nil {
		return err
	}
	tools := requestTools
	if *toolsFile != "" {
		if tools, err = readTools(*toolsFile); err != nil {
			return err
		}
	}

	tpl, err := chat.Parse(source)
	if err != nil {
		return bareError{fmt.Errorf("template error: %w", err)}
	}
	out, err := tpl.Render(chat.Inputs{Messages: msgs, Tools: tools, AddGenerationPrompt: *addGen, BOSToken: bosText, EOSToken: eosText, Now: now})
	if err != nil {
		return bareError{fmt.Errorf("template error: %w", err)}
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// modelChatInfo reads a GGUF file's chat templates and the texts of its
// BOS and EOS tokens. Only metadata is read, so vocabulary-only files do.
func modelChatInfo(path string) (templates map[string]string, bos, eos string, err error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, "", "", err
	}
	defer f.Close()
	templates = map[string]string{}
	for _, kv := range f.KV {
		name, ok := strings.CutPrefix(kv.Key, "tokenizer.chat_template")
		if !ok || name != "" && (name[0] != '.' || len(name) == 1) {
			continue
		}
		if src, ok := kv.Value.Data.(string); ok {
			templates[strings.TrimPrefix(name, ".")] = strings.Clone(src)
		}
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", path, err)
	}
	if id := tok.BOS(); id >= 0 {
		bos = strings.Clone(tok.TokenText(id))
	}
	if id := tok.EOS(); id >= 0 {
		eos = strings.Clone(tok.TokenText(id))
	}
	return templates, bos, eos, nil
}

// pickTemplate chooses the template the way Model.ChatFormat does: the
// model's own without --template, else a built-in name, model:NAME (or a
// bare NAME) of the model's named templates, or a file.
func pickTemplate(flagValue string, templates map[string]string) (string, error) {
	if flagValue == "" || flagValue == "model" {
		if src := templates[""]; src != "" {
			return src, nil
		}
		return "", errors.New("the model has no chat template: give --template FILE|NAME")
	}
	if named, ok := strings.CutPrefix(flagValue, "model:"); ok {
		if src, ok := templates[named]; ok && named != "" {
			return src, nil
		}
		return "", fmt.Errorf("--template %s: the model (-m) has no template named %q", flagValue, named)
	}
	if src, ok := chat.Builtin(flagValue); ok {
		return src, nil
	}
	if src, ok := templates[flagValue]; ok {
		return src, nil
	}
	data, err := os.ReadFile(flagValue)
	if err != nil {
		return "", fmt.Errorf("--template %s is not a built-in format (%s), a template of the model, or a readable file: %w",
			flagValue, strings.Join(chat.BuiltinNames(), ", "), err)
	}
	return string(data), nil
}

// readInput reads a file, or standard input for "-", refusing huge ones.
func readInput(path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxInputFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxInputFile)
	}
	return data, nil
}

// readConversation reads --messages: an array of messages, or a chat
// request whose "tools" are returned too (nil when it has none).
func readConversation(path string) ([]chat.Message, []any, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := chat.DecodeMessages(data)
	if err != nil {
		return nil, nil, fmt.Errorf("--messages %s: %w", path, err)
	}
	v, _ := chat.DecodeJSON(data) // valid: DecodeMessages read it
	var tools []any
	if req, ok := v.(chat.Object); ok {
		if tv, ok := req.Get("tools"); ok && tv != nil {
			if tools, ok = tv.([]any); !ok {
				return nil, nil, fmt.Errorf("--messages %s: \"tools\" is not an array", path)
			}
		}
	}
	return msgs, tools, nil
}

func readTools(path string) ([]any, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	v, err := chat.DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("--tools %s: %w", path, err)
	}
	tools, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("--tools %s: want a JSON array of tools", path)
	}
	return tools, nil
}
