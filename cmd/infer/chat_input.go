package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
)

// errInterrupted is a Ctrl-C at the prompt.
var errInterrupted = errors.New("interrupted")

// lineSource reads one line of input without its newline. At the end of
// input it returns io.EOF; a Ctrl-C at an interactive prompt returns
// errInterrupted with the text typed so far.
type lineSource interface {
	readLine(prompt string) (string, error)
	close() error
}

// maxInputLine bounds one line read from a pipe, so that a stream without
// newlines cannot grow the buffer without limit.
const maxInputLine = 1 << 20

// plainLines reads lines from a pipe or a file: no prompt, no editing.
type plainLines struct {
	r *bufio.Reader
}

func newPlainLines(r io.Reader) *plainLines { return &plainLines{r: bufio.NewReader(r)} }

func (p *plainLines) readLine(string) (string, error) {
	var line []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxInputLine {
			return "", errors.New("input line longer than 1 MiB")
		}
		switch {
		case err == nil:
			return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return strings.TrimSuffix(string(line), "\r"), nil
		default:
			return "", err
		}
	}
}

func (p *plainLines) close() error { return nil }

// terminalLines reads lines with readline: editing keys, history, tab
// completion of the commands and bracketed paste.
type terminalLines struct {
	rl  *readline.Instance
	out io.Writer
}

// bracketed paste mode: the terminal wraps pasted text in these markers.
const (
	pasteOn    = "\x1b[?2004h"
	pasteOff   = "\x1b[?2004l"
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
)

// newTerminalLines starts readline on the process's terminal. historyFile ""
// keeps no history.
func newTerminalLines(historyFile string, completer readline.AutoCompleter) (*terminalLines, error) {
	paste := &pasteFilter{r: readline.NewCancelableStdin(os.Stdin)}
	cfg := &readline.Config{
		HistoryFile:     historyFile,
		AutoComplete:    completer,
		InterruptPrompt: "^C",
		EOFPrompt:       "\n",
		Stdin:           paste,
	}
	if historyFile == "" {
		cfg.HistoryLimit = -1
	} else if err := os.MkdirAll(filepath.Dir(historyFile), 0o700); err != nil {
		cfg.HistoryFile = "" // history is a convenience: go on without it
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, err
	}
	// readline knows no bracketed paste (it would submit each pasted line on
	// its own): switch it on and let pasteFilter turn the pasted newlines
	// into pasteNewline, which readline edits as an ordinary character.
	os.Stdout.WriteString(pasteOn)
	return &terminalLines{rl: rl, out: os.Stdout}, nil
}

func (t *terminalLines) readLine(prompt string) (string, error) {
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	// Also in a line recalled from the history, where a paste was saved
	// with its pasteNewlines.
	line = strings.ReplaceAll(line, string(pasteNewline), "\n")
	if errors.Is(err, readline.ErrInterrupt) {
		return line, errInterrupted
	}
	return line, err
}

func (t *terminalLines) close() error {
	io.WriteString(t.out, pasteOff)
	return t.rl.Close()
}

// pasteNewline stands for a newline inside a bracketed paste while the line
// is edited; it becomes "\n" again when the line is submitted (so a typed
// '↵' does too: the price of a visible, editable mark).
const pasteNewline = '↵'

// pasteFilter passes terminal input through, dropping the bracketed paste
// markers and replacing the newlines between them with pasteNewline, so
// that a multi-line paste is one message. A marker split across reads is
// held back until it is complete or proves not to be one.
type pasteFilter struct {
	r       io.ReadCloser
	inPaste bool
	pending []byte // a possible start of a marker, or output not yet returned
	out     []byte
	lastCR  bool
}

func (f *pasteFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		buf := make([]byte, 4096)
		n, err := f.r.Read(buf)
		f.out = f.filter(f.out, buf[:n])
		if err != nil {
			if len(f.out) == 0 {
				f.out = append(f.out, f.pending...)
				f.pending = nil
			}
			if len(f.out) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

func (f *pasteFilter) Close() error { return f.r.Close() }

// filter appends to dst what in releases, given what came before it.
func (f *pasteFilter) filter(dst, in []byte) []byte {
	data := append(f.pending, in...)
	f.pending = nil
	for i := 0; i < len(data); {
		if data[i] == 0x1b {
			rest := data[i:]
			switch {
			case bytes.HasPrefix(rest, []byte(pasteStart)):
				f.inPaste = true
				i += len(pasteStart)
				continue
			case bytes.HasPrefix(rest, []byte(pasteEnd)):
				f.inPaste = false
				f.lastCR = false
				i += len(pasteEnd)
				continue
			case len(rest) < len(pasteStart) && (bytes.HasPrefix([]byte(pasteStart), rest) || bytes.HasPrefix([]byte(pasteEnd), rest)):
				f.pending = append([]byte(nil), rest...)
				return dst
			}
		}
		c := data[i]
		i++
		if !f.inPaste {
			dst = append(dst, c)
			continue
		}
		switch {
		case c == '\n' && f.lastCR: // CR LF: one newline
			f.lastCR = false
		case c == '\r' || c == '\n':
			f.lastCR = c == '\r'
			dst = append(dst, string(pasteNewline)...)
		default:
			f.lastCR = false
			dst = append(dst, c)
		}
	}
	return dst
}

// messageReader assembles a message from lines: a line ending in a
// backslash continues on the next, and a block opened by `"""` runs to a
// line ending in `"""`.
type messageReader struct {
	src                  lineSource
	prompt, continuation string
}

const blockQuote = `"""`

// read returns the next message. Lines are joined with "\n". At the end of
// input inside a continued message or a block it returns what it has (the
// next call returns io.EOF). A Ctrl-C drops the message being assembled and
// returns errInterrupted with the current line's text.
func (mr *messageReader) read() (string, error) {
	line, err := mr.src.readLine(mr.prompt)
	if err != nil {
		return line, err
	}
	if strings.HasPrefix(strings.TrimLeft(line, " \t"), blockQuote) {
		return mr.block(strings.TrimPrefix(strings.TrimLeft(line, " \t"), blockQuote))
	}
	var b strings.Builder
	for {
		body, more := strings.CutSuffix(line, `\`)
		b.WriteString(body)
		if !more {
			return b.String(), nil
		}
		b.WriteByte('\n')
		line, err = mr.src.readLine(mr.continuation)
		switch {
		case errors.Is(err, io.EOF):
			return strings.TrimSuffix(b.String(), "\n"), nil
		case err != nil:
			return line, err
		}
	}
}

// block reads the lines of a `"""` block whose first line, after the
// opening quotes, is first.
func (mr *messageReader) block(first string) (string, error) {
	var lines []string
	line := first
	for {
		if body, done := strings.CutSuffix(strings.TrimRight(line, " \t"), blockQuote); done {
			lines = append(lines, body)
			break
		}
		lines = append(lines, line)
		var err error
		line, err = mr.src.readLine(mr.continuation)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return line, err
		}
	}
	// The text on the opening and closing lines counts only when there is
	// some: `"""` alone on a line adds no empty line.
	if len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) == "" {
		lines = lines[:n-1]
	}
	return strings.Join(lines, "\n"), nil
}
