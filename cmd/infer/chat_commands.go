package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/chzyer/readline"

	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/sampler"
)

// chatCommand is one /command of the chat.
type chatCommand struct {
	name    string
	aliases []string
	args    string
	help    string
	run     func(r *chatREPL, arg string) (exit bool, err error)
}

// chatCommands lists the commands in the order /help shows them. It is set
// in init because /help reads it.
var chatCommands []chatCommand

func init() {
	chatCommands = []chatCommand{
		{name: "help", aliases: []string{"?"}, help: "this list", run: (*chatREPL).cmdHelp},
		{name: "reset", aliases: []string{"clear"}, help: "start the conversation again (the system prompt stays)", run: (*chatREPL).cmdReset},
		{name: "system", args: "[TEXT | none]", help: "show, set or remove the system prompt", run: (*chatREPL).cmdSystem},
		{name: "set", args: "NAME VALUE", help: "change a setting: n, think on|off, verbose on|off, seed, or a sampler setting (temp, top-k, top-p, min-p, ...: /show lists them)", run: (*chatREPL).cmdSet},
		{name: "show", help: "model, template, context use and settings", run: (*chatREPL).cmdShow},
		{name: "save", args: "FILE", help: "save the conversation and settings as JSON", run: (*chatREPL).cmdSave},
		{name: "load", args: "FILE", help: "load a conversation saved by /save and evaluate it", run: (*chatREPL).cmdLoad},
		{name: "stats", help: "the last reply's prompt and generated tokens and speed", run: (*chatREPL).cmdStats},
		{name: "exit", aliases: []string{"bye", "quit"}, help: "quit (also Ctrl-D)", run: func(*chatREPL, string) (bool, error) { return true, nil }},
	}
}

func findChatCommand(name string) (*chatCommand, bool) {
	for i := range chatCommands {
		c := &chatCommands[i]
		if c.name == name {
			return c, true
		}
		for _, a := range c.aliases {
			if a == name {
				return c, true
			}
		}
	}
	return nil, false
}

// command runs a line that starts with "/".
func (r *chatREPL) command(line string) (exit bool, err error) {
	name, arg, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "/"), " ")
	c, ok := findChatCommand(strings.ToLower(name))
	if !ok {
		return false, fmt.Errorf("unknown command /%s: /help lists them (start a message with // to send one beginning with /)", name)
	}
	return c.run(r, strings.TrimSpace(arg))
}

// completer completes the command names, /set's setting names and the file
// names of /save and /load.
func (r *chatREPL) completer() readline.AutoCompleter {
	var items []readline.PrefixCompleterInterface
	files := readline.PcItemDynamic(listFiles)
	for _, c := range chatCommands {
		for _, name := range append([]string{c.name}, c.aliases...) {
			var children []readline.PrefixCompleterInterface
			switch c.name {
			case "set":
				for _, s := range setNames() {
					children = append(children, readline.PcItem(s))
				}
			case "save", "load":
				children = append(children, files)
			}
			items = append(items, readline.PcItem("/"+name, children...))
		}
	}
	return readline.NewPrefixCompleter(items...)
}

// listFiles offers the JSON files of the current directory.
func listFiles(string) []string {
	names, _ := filepath.Glob("*.json")
	return names
}

// setNames are the names /set takes, the chat's own first.
func setNames() []string { return append([]string{"n", "think", "verbose"}, sampler.Names()...) }

func (r *chatREPL) cmdHelp(string) (bool, error) {
	var b strings.Builder
	for _, c := range chatCommands {
		name := "/" + c.name
		if c.args != "" {
			name += " " + c.args
		}
		fmt.Fprintf(&b, "  %-22s %s", name, c.help)
		if len(c.aliases) > 0 {
			fmt.Fprintf(&b, " (also /%s)", strings.Join(c.aliases, ", /"))
		}
		b.WriteByte('\n')
	}
	b.WriteString("  A line ending in \\ continues on the next; a block between lines of \"\"\" is one message.\n")
	b.WriteString("  Ctrl-C stops a reply; Ctrl-C twice at an empty prompt or Ctrl-D quits.")
	fmt.Fprintln(r.ui.info, b.String())
	return false, nil
}

func (r *chatREPL) cmdReset(string) (bool, error) {
	r.msgs = nil
	r.fed = chatPrompt{}
	r.sess.Reset()
	r.ui.note("(conversation cleared)")
	return false, nil
}

func (r *chatREPL) cmdSystem(arg string) (bool, error) {
	switch arg {
	case "":
		if r.system == "" {
			r.ui.note("no system prompt")
		} else {
			r.ui.note("system prompt: %s", r.system)
		}
		return false, nil
	case "none":
		r.system = ""
		r.ui.note("(system prompt removed)")
	default:
		r.system = arg
		r.ui.note("(system prompt set; the conversation goes on with it)")
	}
	return false, nil
}

func (r *chatREPL) cmdSet(arg string) (bool, error) {
	name, value, ok := strings.Cut(arg, " ")
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return false, errors.New("usage: /set NAME VALUE (names: " + strings.Join(setNames(), ", ") + ")")
	}
	if err := r.set(name, value); err != nil {
		return false, err
	}
	r.ui.note("(%s = %s)", name, r.get(name))
	return false, nil
}

// set changes one setting: the chat's own or the sampler's.
func (r *chatREPL) set(name, value string) error {
	switch strings.ToLower(strings.TrimLeft(name, "-")) {
	case "n", "n-predict":
		v, err := strconv.Atoi(value)
		if err != nil || v < -1 {
			return fmt.Errorf("n %q: want -1 (no limit) or a number of tokens", value)
		}
		r.maxTokens = v
		return nil
	case "think":
		v, err := parseOnOff(value)
		if err != nil {
			return fmt.Errorf("think: %w", err)
		}
		r.showThink = v
		return nil
	case "verbose":
		v, err := parseOnOff(value)
		if err != nil {
			return fmt.Errorf("verbose: %w", err)
		}
		r.verbose = v
		return nil
	}
	return r.params.Set(name, value)
}

// get returns a setting as set takes it.
func (r *chatREPL) get(name string) string {
	switch strings.ToLower(strings.TrimLeft(name, "-")) {
	case "n", "n-predict":
		return strconv.Itoa(max(r.maxTokens, -1))
	case "think":
		return onOff(r.showThink)
	case "verbose":
		return onOff(r.verbose)
	}
	v, err := r.params.Get(name)
	if err != nil {
		return "?"
	}
	return v
}

func parseOnOff(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes", "1", "show":
		return true, nil
	case "off", "false", "no", "0", "hide":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", v)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (r *chatREPL) cmdShow(string) (bool, error) {
	in := r.m.Info()
	guess := ""
	if r.format.guessed {
		guess = " (GUESSED: the model has no template)"
	}
	used, n := len(r.sess.Tokens()), r.sess.ContextLength()
	r.ui.note("model:    %s (%s, %s)", in.Path, in.Arch, in.FileType)
	r.ui.note("template: %s%s", r.format.name, guess)
	r.ui.note("context:  %d of %d tokens used (%.0f%%), %d messages", used, n, 100*float64(used)/float64(max(n, 1)), len(r.msgs))
	if r.system != "" {
		r.ui.note("system:   %s", r.system)
	}
	r.ui.note("n = %s, think = %s, verbose = %s", r.get("n"), r.get("think"), r.get("verbose"))
	for _, s := range r.params.Settings() {
		note := ""
		if s.Note != "" {
			note = "  (" + s.Note + ")"
		}
		r.ui.note("%s = %s%s", s.Name, s.Value, note)
	}
	return false, nil
}

func (r *chatREPL) cmdStats(string) (bool, error) {
	if !r.hasLast {
		r.ui.note("no reply yet")
		return false, nil
	}
	r.ui.note("%s", statsLine(r.last))
	return false, nil
}

// savedChat is the file /save writes and /load reads.
type savedChat struct {
	Model    string            `json:"model,omitempty"`    // informational: the model it was saved from
	Template string            `json:"template,omitempty"` // informational
	Messages []chat.Message    `json:"messages"`           // the system prompt first, if any
	Settings map[string]string `json:"settings,omitempty"` // /set names and values
}

// maxSavedChat bounds what /load reads: a conversation larger than this
// cannot fit any context anyway.
const maxSavedChat = 64 << 20

func (r *chatREPL) cmdSave(arg string) (bool, error) {
	if arg == "" {
		return false, errors.New("usage: /save FILE")
	}
	sc := savedChat{Model: r.m.Info().Path, Template: r.format.name, Messages: r.withSystem(r.msgs), Settings: map[string]string{}}
	if sc.Messages == nil {
		sc.Messages = []chat.Message{}
	}
	for _, s := range r.params.Settings() {
		sc.Settings[s.Name] = s.Value
	}
	for _, name := range []string{"n", "think"} {
		sc.Settings[name] = r.get(name)
	}
	data, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return false, fmt.Errorf("saving the conversation: %w", err)
	}
	if err := writeFileAtomic(arg, append(data, '\n')); err != nil {
		return false, fmt.Errorf("saving the conversation: %w", err)
	}
	r.ui.note("(saved %s to %s)", plural(len(sc.Messages), "message"), arg)
	return false, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that path never holds a partial file.
func writeFileAtomic(path string, data []byte) error {
	f, err := gguf.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// parseSavedChat decodes a /save file.
func parseSavedChat(data []byte) (*savedChat, error) {
	var sc savedChat
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, err
	}
	for i, m := range sc.Messages {
		switch {
		case m.Role == "":
			return nil, fmt.Errorf("messages[%d]: no role", i)
		case m.Role == "system" && i > 0:
			return nil, fmt.Errorf("messages[%d]: a system message after the first", i)
		}
	}
	return &sc, nil
}

func (r *chatREPL) cmdLoad(arg string) (bool, error) {
	if arg == "" {
		return false, errors.New("usage: /load FILE")
	}
	f, err := os.Open(arg)
	if err != nil {
		return false, err
	}
	data, err := readAtMost(f, maxSavedChat)
	f.Close()
	if err != nil {
		return false, fmt.Errorf("%s: %w", arg, err)
	}
	sc, err := parseSavedChat(data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", arg, err)
	}
	// Settings first, all or none, so that a bad file changes nothing.
	trial := &chatREPL{params: r.params, maxTokens: r.maxTokens, showThink: r.showThink, verbose: r.verbose}
	for _, name := range settingsOrder(sc.Settings) {
		if err := trial.set(name, sc.Settings[name]); err != nil {
			return false, fmt.Errorf("%s: setting %s: %w", arg, name, err)
		}
	}
	r.params, r.maxTokens, r.showThink = trial.params, trial.maxTokens, trial.showThink
	msgs := sc.Messages
	r.system = ""
	if len(msgs) > 0 && msgs[0].Role == "system" {
		r.system, msgs = msgs[0].Content, msgs[1:]
	}
	r.msgs, r.fed = msgs, chatPrompt{}
	r.ui.note("(loaded %s from %s)", plural(len(sc.Messages), "message"), arg)
	return false, r.evaluate()
}

// settingsOrder lists the names of settings in the order /set takes them
// (the sampler's in chain order, so that a setting another depends on comes
// first), unknown names last, sorted.
func settingsOrder(settings map[string]string) []string {
	var names []string
	known := map[string]bool{}
	for _, name := range setNames() {
		known[name] = true
		if _, ok := settings[name]; ok {
			names = append(names, name)
		}
	}
	var rest []string
	for name := range settings {
		if !known[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// evaluate runs the conversation through the session, so that the next
// turn costs only its own tokens.
func (r *chatREPL) evaluate() error {
	p, dropped, err := r.fitPrompt(false)
	if err != nil {
		return err
	}
	if dropped > 0 {
		r.ui.note("(the conversation is longer than the context: dropped %s)", oldestTurns(dropped))
	}
	if len(p.tokens) == 0 {
		r.sess.Reset()
		return nil
	}
	ctx, cancel := r.interruptible()
	defer cancel()
	es, err := r.sess.Eval(ctx, p.tokens)
	if err != nil {
		return fmt.Errorf("evaluating the conversation: %w", err)
	}
	r.fed = p
	r.ui.note("(%d tokens evaluated in %.1f ms, %d cached)", es.Evaluated, ms(es.Duration), es.Cached)
	return nil
}

func readAtMost(f *os.File, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than the %d MiB a saved conversation may have", limit>>20)
	}
	return data, nil
}
