//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// buildInfer builds the command into a temporary directory, once per test
// binary.
var buildInfer = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "infer-chat-test")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "infer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New("go build: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// terminalSession is `infer chat` running on a pseudo-terminal.
type terminalSession struct {
	t     *testing.T
	state string // $XDG_STATE_HOME
	cmd   *exec.Cmd
	tty   *os.File
	mu    sync.Mutex
	out   bytes.Buffer // everything the terminal showed
	done  chan error   // the process's exit
	read  chan struct{}
}

func startTerminalChat(t *testing.T, args ...string) *terminalSession {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the command: not in -short")
	}
	bin, err := buildInfer()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"chat"}, args...)...)
	state := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_STATE_HOME="+state, "TERM=xterm", "NO_COLOR=")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("starting on a pty: %v", err)
	}
	s := &terminalSession{t: t, state: state, cmd: cmd, tty: tty, done: make(chan error, 1), read: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			select {
			case s.read <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
	})
	return s
}

func (s *terminalSession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the terminal has shown count matches of re.
func (s *terminalSession) waitFor(re *regexp.Regexp, count int, what string) {
	s.t.Helper()
	deadline := time.After(60 * time.Second)
	for len(re.FindAllStringIndex(s.output(), -1)) < count {
		select {
		case <-s.read:
		case <-time.After(50 * time.Millisecond):
		case err := <-s.done:
			s.t.Fatalf("the chat exited (%v) while waiting for %s; the terminal showed:\n%s", err, what, s.output())
		case <-deadline:
			s.t.Fatalf("timed out waiting for %s; the terminal showed:\n%s", what, s.output())
		}
	}
}

func (s *terminalSession) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.WriteString(keys); err != nil {
		s.t.Fatalf("typing %q: %v", keys, err)
	}
}

// exit waits for the process to end and checks that it ended well.
func (s *terminalSession) exit() {
	s.t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("exit: %v; the terminal showed:\n%s", err, s.output())
		}
	case <-time.After(30 * time.Second):
		s.t.Fatalf("the chat did not exit; the terminal showed:\n%s", s.output())
	}
	time.Sleep(50 * time.Millisecond) // the last output
	if out := s.output(); strings.Contains(out, "goroutine") || strings.Contains(out, "panic") {
		s.t.Errorf("a goroutine dump:\n%s", out)
	}
}

var (
	promptRE  = regexp.MustCompile(`> `)
	stopRE    = regexp.MustCompile(`stop: `)
	startedRE = regexp.MustCompile(`/help for help`)
)

func TestChatTerminal(t *testing.T) {
	model := chatModel(t)
	s := startTerminalChat(t, "-m", model, "--chat-template", "chatml", "-n", "8", "--seed", "3", "-t", "2", "-c", "2048", "--verbose")
	s.waitFor(startedRE, 1, "the start-up lines")
	s.waitFor(promptRE, 1, "the prompt")
	if out := s.output(); !strings.Contains(out, ansiDim) {
		t.Errorf("the start-up lines are not dimmed on a terminal:\n%q", out)
	}

	// A message and its reply.
	s.send("Hello there\r")
	s.waitFor(stopRE, 1, "the first reply")

	// A long reply, interrupted: the prompt comes back.
	s.send("/set n -1\r")
	s.waitFor(regexp.MustCompile(`\(n = -1\)`), 1, "/set's answer")
	s.send("Now talk for a long time\r")
	s.waitFor(regexp.MustCompile(`Now talk for a long time\r?\n.+`), 1, "the long reply to start")
	time.Sleep(300 * time.Millisecond)
	s.send("\x03")
	s.waitFor(regexp.MustCompile(`\(interrupted\)`), 1, "the interruption")
	s.waitFor(stopRE, 2, "the stats of the interrupted reply")
	s.waitFor(regexp.MustCompile(`\(interrupted\)[^>]*stop: cancelled[^>]*> `), 1, "the prompt after the interruption")
	if !strings.Contains(s.output(), "stop: cancelled") {
		t.Errorf("the long reply was not cancelled:\n%s", s.output())
	}

	// A second turn after the interruption, then /stats, and /exit.
	s.send("/set n 8\r")
	s.waitFor(regexp.MustCompile(`\(n = 8\)`), 1, "/set's answer")
	s.send("And a short one\r")
	s.waitFor(stopRE, 3, "the third reply")
	s.send("/stats\r")
	s.waitFor(stopRE, 4, "/stats")
	st := parseStatsLines(t, s.output())
	// The interrupted reply stays in the conversation and in the cache:
	// the third turn costs its own tokens (and the reply's last token,
	// sampled but not yet run).
	if len(st) < 4 || st[2].generated != 8 || st[2].cached != st[1].prompt+st[1].generated-1 {
		t.Errorf("stats %+v: want the third reply's 8 tokens after the cached history", st)
	}
	s.send("/exit\r")
	s.exit()
	if os.Getenv("INFER_CHAT_SHOW") != "" {
		t.Logf("terminal:\n%q", s.output())
	}
}

func TestChatTerminalQuitKeys(t *testing.T) {
	model := chatModel(t)
	for _, tt := range []struct{ name, keys string }{
		{"Ctrl-C twice", "\x03\x03"},
		{"Ctrl-D", "\x04"},
		{"Ctrl-C, typing, Ctrl-C twice", "\x03abc\x03\x03\x03"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startTerminalChat(t, "-m", model, "--chat-template", "chatml", "-t", "1")
			s.waitFor(promptRE, 1, "the prompt")
			for _, k := range tt.keys {
				s.send(string(k))
				time.Sleep(100 * time.Millisecond)
			}
			s.exit()
		})
	}
}

func TestChatTerminalPasteHistoryCompletion(t *testing.T) {
	model := chatModel(t)
	s := startTerminalChat(t, "-m", model, "--chat-template", "chatml", "-n", "4", "-t", "1", "--verbose")
	s.waitFor(promptRE, 1, "the prompt")
	if !strings.Contains(s.output(), pasteOn) {
		t.Errorf("bracketed paste is not switched on")
	}
	// A pasted block of three lines is one message: one reply.
	s.send(pasteStart + "line one\rline two\rline three" + pasteEnd + "\r")
	s.waitFor(stopRE, 1, "the reply to the paste")
	time.Sleep(200 * time.Millisecond)
	if n := len(stopRE.FindAllString(s.output(), -1)); n != 1 {
		t.Errorf("%d replies to one pasted message", n)
	}
	// The up arrow recalls the last line: /show, sent again.
	s.send("/show\r")
	s.waitFor(regexp.MustCompile(`context: +\d+ of 256 tokens`), 1, "/show")
	s.send("\x1b[A\r")
	s.waitFor(regexp.MustCompile(`context: +\d+ of 256 tokens`), 2, "/show again")
	// Tab completes a command.
	s.send("/sho\t\r")
	s.waitFor(regexp.MustCompile(`context: +\d+ of 256 tokens`), 3, "/show by tab completion")
	s.send("\x04")
	s.exit()
	hist, err := os.ReadFile(filepath.Join(s.state, "infer", "chat_history"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hist), "/show\n") || !strings.Contains(string(hist), "line one") {
		t.Errorf("history file:\n%s", hist)
	}
}

// TestChatPipeInterrupt sends SIGINT to a chat reading a pipe: during a
// reply it stops the reply and the chat goes on; while waiting for input
// it ends the chat (status 130, as a shell reports SIGINT).
func TestChatPipeInterrupt(t *testing.T) {
	model := chatModel(t)
	if testing.Short() {
		t.Skip("builds the command: not in -short")
	}
	bin, err := buildInfer()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "chat", "-m", model, "--chat-template", "chatml", "-c", "2048", "-t", "1", "--verbose")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr chatOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; stdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
		}
	}
	stdin.Write([]byte("Talk for a long time\n"))
	waitUntil("the reply", func() bool { return stdout.Len() > 20 })
	cmd.Process.Signal(os.Interrupt)
	waitUntil("the interruption", func() bool { return strings.Contains(stderr.String(), "stop: cancelled") })
	if !strings.Contains(stderr.String(), "(interrupted)") {
		t.Errorf("no note of the interruption:\n%s", stderr.String())
	}
	stdin.Write([]byte("/set n 4\nAgain\n"))
	waitUntil("the second reply", func() bool { return strings.Count(stderr.String(), "stop: ") == 2 })
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("SIGINT while waiting for input: %v, want exit status 130", err)
	}
	if strings.Contains(stderr.String(), "goroutine") {
		t.Errorf("a goroutine dump:\n%s", stderr.String())
	}
}

// TestChatPipeInterruptPrompt sends SIGINT while a long message is read
// (its prompt evaluated): the chat stops and goes on as if the message had
// not been sent. Should the signal come once the reply has begun, the
// reply is kept instead; either way the conversation says what happened.
func TestChatPipeInterruptPrompt(t *testing.T) {
	model := chatModel(t)
	if testing.Short() {
		t.Skip("builds the command: not in -short")
	}
	bin, err := buildInfer()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "chat", "-m", model, "--chat-template", "chatml", "-c", "4096", "-t", "1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr chatOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; stdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
		}
	}
	waitUntil("the start-up lines", func() bool { return strings.Contains(stderr.String(), "/help for help") })
	stdin.Write([]byte(strings.Repeat("many words in a long message ", 500) + "\n"))
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	waitUntil("the interruption", func() bool { return strings.Contains(stderr.String(), "(interrupted)") })
	stdin.Write([]byte("/show\n/exit\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	messages := regexp.MustCompile(`context: .* (\d+) messages`).FindStringSubmatch(stderr.String())
	switch {
	case messages == nil:
		t.Fatalf("no /show output:\n%s", stderr.String())
	case stdout.Len() == 0 && messages[1] != "0":
		t.Errorf("interrupted before the reply, yet the conversation holds %s messages", messages[1])
	case stdout.Len() > 0 && messages[1] != "2":
		t.Errorf("interrupted during the reply, yet the conversation holds %s messages", messages[1])
	}
	t.Logf("interrupted %s", map[bool]string{true: "while the prompt was read", false: "during the reply"}[stdout.Len() == 0])
}

// chatOutput is a bytes.Buffer a process writes while the test reads it.
type chatOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *chatOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *chatOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *chatOutput) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
