package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/sampler"
)

func init() {
	register(command{name: "chat", summary: "talk to a model: an interactive chat with its chat template (infer chat -m model.gguf)", run: runChat})
}

func runChat(args []string, stdout, stderr io.Writer) error {
	return chatMain(args, os.Stdin, stdout, stderr)
}

// chatUI is where a chat writes: replies go to out; notes (start-up lines,
// stats, warnings) to info, dimmed when color is on.
type chatUI struct {
	out, info io.Writer
	color     bool
	midLine   bool // the last reply text printed did not end a line
}

const (
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

// note prints a line of information, dimmed on a terminal.
func (u *chatUI) note(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if u.color {
		line = ansiDim + line + ansiReset
	}
	fmt.Fprintln(u.info, line)
}

// warn prints a line that must not be missed, bold on a terminal.
func (u *chatUI) warn(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if u.color {
		line = ansiBold + line + ansiReset
	}
	fmt.Fprintln(u.info, line)
}

// reply prints a piece of a reply; thinking is dimmed on a terminal.
func (u *chatUI) reply(s textSpan) {
	if s.text == "" {
		return
	}
	u.midLine = !strings.HasSuffix(s.text, "\n")
	if s.think && u.color {
		io.WriteString(u.out, ansiDim+s.text+ansiReset)
		return
	}
	io.WriteString(u.out, s.text)
}

// endReply ends the reply's last line.
func (u *chatUI) endReply() {
	if u.midLine {
		fmt.Fprintln(u.out)
	}
	u.midLine = false
}

// chatREPL is one conversation with a model.
type chatREPL struct {
	m      *infer.Model
	sess   *infer.Session
	format *chatFormat
	ui     *chatUI

	params    sampler.Params
	maxTokens int  // per reply; <= 0: no limit but the context
	showThink bool // print <think> blocks (dimmed) rather than hide them
	verbose   bool // the stats line after every reply

	system string
	msgs   []chat.Message // the turns, without the system prompt
	// fed is what the session was last given: a rendering of the
	// conversation and the tokens for it, the generated ones as the
	// model produced them. The next turn appends to it when its rendering
	// extends fed.text.
	fed chatPrompt

	last    infer.Stats // of the last reply
	hasLast bool

	mu        sync.Mutex
	cancelRun context.CancelFunc // stops the reply or evaluation running; nil when none
}

func chatMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("chat", stderr)
	var mf modelFlags
	mf.register(fs)
	params := sampler.DefaultParams()
	addSamplerFlags(fs, &params)
	n := fs.Int("n", -1, "most tokens per reply (-1: until the end of the turn or the context)")
	fs.IntVar(n, "n-predict", -1, "same as -n")
	templateName := fs.String("chat-template", "", "chat template: a built-in format ("+strings.Join(chat.BuiltinNames(), ", ")+"), model:NAME for one of the model's named templates, or a template file; default: the model's own")
	system := fs.String("system", "", "system prompt")
	fs.StringVar(system, "sys", "", "same as --system")
	fs.StringVar(system, "system-prompt", "", "same as --system")
	noHistory := fs.Bool("no-history", false, "keep no input history")
	historyFile := fs.String("history-file", "", "input history file (default $XDG_STATE_HOME/infer/chat_history or ~/.local/state/infer/chat_history)")
	verbose := fs.Bool("verbose", false, "print the stats line after every reply")
	noColor := fs.Bool("no-color", false, "no escape codes (dim text) even on a terminal")
	hideThink := fs.Bool("hide-think", false, "hide <think> blocks of reasoning models (as /set think off)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer chat -m model.gguf [flags]")
		fmt.Fprintln(stderr, "A conversation with the model in its chat template; /help in the chat lists the commands.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *n < -1 {
		return usagef("-n %d: want -1 (no limit) or more", *n)
	}
	if err := params.Validate(); err != nil {
		return usageError{err}
	}

	interactive := isTerminal(stdin) && isTerminal(stdout)
	ui := &chatUI{out: stdout, info: stderr}
	if interactive {
		ui.info = stdout
		ui.color = !*noColor && os.Getenv("NO_COLOR") == ""
	}

	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	format, err := loadChatFormat(m, *templateName)
	if err != nil {
		return err
	}
	sess, err := m.NewSession(infer.SessionOptions{})
	if err != nil {
		return err
	}
	defer sess.Close()

	r := &chatREPL{
		m: m, sess: sess, format: format, ui: ui,
		params: params, maxTokens: *n, showThink: !*hideThink, verbose: *verbose,
		system: *system,
	}
	// SIGINT stops a reply, not the chat; at the prompt the terminal is in
	// raw mode and readline sees Ctrl-C as a key.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	go r.handleInterrupts(interrupts, interactive)
	defer func() {
		signal.Stop(interrupts)
		close(interrupts)
	}()

	var src lineSource
	if interactive {
		hist := ""
		if !*noHistory {
			hist = *historyFile
			if hist == "" {
				hist = defaultHistoryFile()
			}
		}
		tl, err := newTerminalLines(hist, r.completer())
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		src = tl
	} else {
		src = newPlainLines(stdin)
	}
	defer src.close()
	// SIGTERM and SIGHUP end the chat at once, but not with the terminal
	// left in raw mode.
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	defer func() {
		signal.Stop(quit)
		close(done)
	}()
	go func() {
		var sig os.Signal
		select {
		case sig = <-quit:
		case <-done:
			return
		}
		src.close()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()

	r.banner()
	return r.loop(&messageReader{src: src, prompt: r.promptText("> "), continuation: r.promptText(". ")})
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// defaultHistoryFile is chat_history in infer's directory of the user's
// state directory (XDG's $XDG_STATE_HOME, else ~/.local/state); "" when
// there is no home.
func defaultHistoryFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "infer", "chat_history")
}

func (r *chatREPL) promptText(p string) string {
	if r.ui.color {
		return ansiBold + p + ansiReset
	}
	return p
}

// banner prints the start-up lines.
func (r *chatREPL) banner() {
	in := r.m.Info()
	name := in.Name
	if name == "" {
		name = filepath.Base(in.Path)
	}
	r.ui.note("model: %s (%s, %s, %s params), context %d tokens, KV cache %.1f MiB (%s)",
		name, in.Arch, in.FileType, humanCount(in.Params), r.sess.ContextLength(), float64(r.sess.KVCacheBytes())/(1<<20), in.CacheType)
	if r.format.guessed {
		r.ui.warn("warning: the model has no chat template: GUESSED %q; if the replies look wrong, pass --chat-template NAME|FILE", r.format.name)
	} else {
		r.ui.note("template: %s", r.format.name)
	}
	r.ui.note("/help for help, Ctrl-D or /exit to quit")
}

// loop reads messages and commands until the end of input or /exit.
func (r *chatREPL) loop(mr *messageReader) error {
	interruptedOnce := false
	for {
		text, err := mr.read()
		switch {
		case errors.Is(err, errInterrupted):
			if text == "" && interruptedOnce {
				return nil
			}
			if text == "" {
				r.ui.note("(Ctrl-C again or Ctrl-D to quit)")
			}
			interruptedOnce = text == ""
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("reading input: %w", err)
		}
		interruptedOnce = false
		if strings.TrimSpace(text) == "" {
			continue
		}
		if strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//") {
			exit, err := r.command(text)
			if err != nil {
				if errors.Is(err, infer.ErrClosed) {
					return err
				}
				r.ui.warn("error: %v", err)
			}
			if exit {
				return nil
			}
			continue
		}
		text = strings.TrimPrefix(text, "/") // "//..." sends a message beginning with "/"
		if err := r.turn(text); err != nil {
			if errors.Is(err, infer.ErrClosed) {
				return err
			}
			r.ui.warn("error: %v", err)
		}
	}
}

// interruptible returns a context that a SIGINT (Ctrl-C) cancels, and its
// cancel function, which the caller must call when done.
func (r *chatREPL) interruptible() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.cancelRun = cancel
	r.mu.Unlock()
	return ctx, func() {
		r.mu.Lock()
		r.cancelRun = nil
		r.mu.Unlock()
		cancel()
	}
}

// handleInterrupts takes every SIGINT of the chat until sigs is closed: it
// stops the reply or evaluation running, if any. Otherwise the chat waits
// for input: on a terminal readline reads Ctrl-C as a key (a SIGINT from
// kill is ignored there), while a chat reading plain lines (a pipe, or a
// terminal whose output is redirected) exits as programs do.
func (r *chatREPL) handleInterrupts(sigs <-chan os.Signal, interactive bool) {
	for range sigs {
		r.mu.Lock()
		cancel := r.cancelRun
		r.mu.Unlock()
		switch {
		case cancel != nil:
			cancel()
		case !interactive:
			os.Exit(130) // 128 + SIGINT, as a shell reports it
		}
	}
}

// turn sends the user's message and streams the reply. An interrupted
// reply stays in the conversation as far as it went.
func (r *chatREPL) turn(text string) error {
	r.msgs = append(r.msgs, chat.Message{Role: "user", Content: text})
	p, dropped, err := r.fitPrompt(true)
	if err != nil {
		r.msgs = r.msgs[:len(r.msgs)-1]
		return err
	}
	if dropped > 0 {
		r.ui.note("(context full: dropped %s to make room)", oldestTurns(dropped))
	}

	ctx, cancel := r.interruptible()
	defer cancel()
	think := thinkFilter{inThink: promptOpensThink(p.text)}
	var reply strings.Builder
	var generated []int32
	afterThink := false // hidden thinking just ended: drop the blank lines after it
	show := func(spans []textSpan) {
		for _, s := range spans {
			if s.think && !r.showThink {
				afterThink = true
				continue
			}
			if afterThink && !s.think {
				s.text = strings.TrimLeft(s.text, "\r\n")
				if s.text == "" {
					continue
				}
				afterThink = false
			}
			r.ui.reply(s)
		}
	}
	opts := infer.GenerateOptions{Sampler: r.params, MaxTokens: max(r.maxTokens, 0), Stop: r.format.stops, NoContextShift: true}
	st, err := r.sess.Generate(ctx, p.tokens, opts, func(t infer.Token) bool {
		if t.ID >= 0 {
			generated = append(generated, t.ID)
		}
		reply.WriteString(t.Text)
		show(think.push(t.Text))
		return true
	})
	// The text of every generated token, as the session holds them. An
	// interrupted reply may have text held back (the start of a stop
	// string or of a character): it is shown now, since it is part of the
	// conversation.
	full := decodeTokens(r.m, generated)
	if err != nil && strings.HasPrefix(full, reply.String()) {
		rest := full[reply.Len():]
		reply.WriteString(rest)
		show(think.push(rest))
	}
	show(think.flush())
	r.ui.endReply()
	r.last, r.hasLast = st, true
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		if st.GeneratedTokens == 0 {
			r.msgs = r.msgs[:len(r.msgs)-1]
			r.fed = chatPrompt{}
			return err
		}
		r.ui.warn("error: %v", err)
	}
	content := reply.String()
	if interrupted && st.GeneratedTokens == 0 && content == "" {
		// Stopped while reading the prompt: as if the message was not sent.
		r.msgs = r.msgs[:len(r.msgs)-1]
		r.fed = chatPrompt{}
		r.ui.note("(interrupted)")
		return nil
	}
	r.msgs = append(r.msgs, chat.Message{Role: "assistant", Content: content})
	// The session holds the prompt and the generated tokens: the next turn
	// continues from them when its rendering extends p.text + full, which
	// is the case unless the template rewrites the reply (or a stop string
	// ended it in the middle of a token); otherwise it renders and
	// tokenizes afresh, and the session reuses what still matches.
	r.fed = chatPrompt{text: p.text + full, tokens: append(p.tokens, generated...)}
	switch {
	case interrupted:
		r.ui.note("(interrupted)")
	case st.Stop == infer.StopContextFull:
		r.ui.note("(context full: the reply stops at %d tokens; the next turn drops the oldest turns)", st.GeneratedTokens)
	}
	if r.verbose {
		r.ui.note("%s", statsLine(st))
	}
	return nil
}

// decodeTokens is the text Generate streams for ids (before stop strings).
func decodeTokens(m *infer.Model, ids []int32) string {
	dec := m.Tokenizer().NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(dec.Push(id))
	}
	b.WriteString(dec.Flush())
	return b.String()
}

// statsLine describes a reply's prompt and generation.
func statsLine(st infer.Stats) string {
	return fmt.Sprintf("prompt %d tokens (%d evaluated, %d cached) in %.1f ms, %.1f t/s; reply %d tokens in %.1f ms, %.1f t/s; stop: %s",
		st.PromptTokens, st.EvaluatedPromptTokens(), st.CachedTokens, ms(st.PromptEval), perSecond(st.PromptEval, st.EvaluatedPromptTokens()),
		st.GeneratedTokens, ms(st.Generation), perSecond(st.Generation, st.GeneratedTokens), st.Stop)
}
