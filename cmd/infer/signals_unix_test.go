//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/infer-go/infer/internal/testref"
)

// TestHelperProcess is not a test: startInfer runs the test binary with it
// selected, INFER_HELPER set and the command line after "--", and it runs
// that command line as main would and exits with its status.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("INFER_HELPER") != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		os.Exit(3)
	}
	os.Exit(run(args[1:], os.Stdout, os.Stderr))
}

// startInfer starts `infer args...` as a separate process.
func startInfer(t *testing.T, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "INFER_HELPER=1")
	stdout, stderr := new(lockedBuffer), new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

// lockedBuffer is a bytes.Buffer that the test reads while the process
// writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until ok or the deadline; it reports whether ok became true.
func waitFor(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

// tempFiles lists the AtomicFile temporaries in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.infer-tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exitCode(err error) int {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestQuantizeSignalsRemoveTemp: SIGINT, SIGTERM and SIGHUP during a
// quantization stop it, remove its temporary file and exit 130, 143 and 129;
// a temporary left by kill -9 is removed by the next write of that output.
func TestQuantizeSignalsRemoveTemp(t *testing.T) {
	if testing.Short() {
		t.Skip("quantizes a 44 MB model several times: not in -short")
	}
	in := testref.Path(t, "models", "tiny-llama-256-f16.gguf")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	quantize := func() (*exec.Cmd, *lockedBuffer) {
		cmd, _, stderr := startInfer(t, "quantize", "-t", "1", in, out, "Q4_K_M")
		if !waitFor(20*time.Second, func() bool { return len(tempFiles(t, dir)) > 0 }) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no temporary file appeared in %s; stderr: %s", dir, stderr)
		}
		return cmd, stderr
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}, {syscall.SIGHUP, 129, "SIGHUP"}} {
		cmd, stderr := quantize()
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		if code := exitCode(err); code != c.code {
			t.Errorf("%s: exit %d (%v), want %d; stderr: %s", c.name, code, err, c.code, stderr)
		}
		if !strings.Contains(stderr.String(), "interrupted by "+c.name) {
			t.Errorf("%s: stderr %q does not say so", c.name, stderr)
		}
		if left := tempFiles(t, dir); len(left) > 0 {
			t.Errorf("%s: left %v", c.name, left)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: an output exists (stat: %v)", c.name, err)
		}
	}

	cmd, _ := quantize()
	cmd.Process.Kill()
	cmd.Wait()
	stale := tempFiles(t, dir)
	if len(stale) != 1 || !strings.Contains(stale[0], ".out.gguf.infer-tmp-") {
		t.Fatalf("after kill -9: temporaries %v, want one named after out.gguf", stale)
	}
	_, stderr, code := runCmd(t, "quantize", "-t", "2", in, out, "Q4_0")
	if code != 0 {
		t.Fatalf("the next quantize: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "note: removing "+stale[0]+", left by process ") {
		t.Errorf("the next quantize does not say it removes %s: %s", stale[0], stderr)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("the next write to out.gguf left %v", left)
	}
}

// TestGenerateCtrlC: Ctrl-C during generation stops it, prints the
// timings and exits 130, as llama-cli does.
func TestGenerateCtrlC(t *testing.T) {
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	// --ignore-eos and -n -1 (with context shift): it would never stop.
	cmd, stdout, stderr := startInfer(t, "-m", model, "-p", "Once", "-n", "-1", "--ignore-eos", "-t", "1")
	started := waitFor(20*time.Second, func() bool { return stdout.Len() > len("Once")+8 })
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if !started {
		t.Fatalf("no generated text; stderr: %s", stderr)
	}
	if code := exitCode(err); code != 130 {
		t.Errorf("exit %d (%v), want 130; stderr: %s", code, err, stderr)
	}
	for _, want := range []string{"interrupted", "eval time", "infer generate: interrupted by SIGINT"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestOutputModeFollowsUmask: logits -o and quantize outputs get 0666 less
// the umask (0644 under the usual 022), not os.CreateTemp's 0600.
func TestOutputModeFollowsUmask(t *testing.T) {
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	logits, quantized := filepath.Join(dir, "l.f32"), filepath.Join(dir, "q.gguf")
	if _, stderr, code := runCmd(t, "logits", "-m", model, "--tokens", "1,2", "-o", logits); code != 0 {
		t.Fatalf("logits: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCmd(t, "quantize", model, quantized, "q4_0"); code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	for _, p := range []string{logits, quantized} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o640 {
			t.Errorf("%s: mode %03o, want 0640 under umask 027", filepath.Base(p), got)
		}
	}
}

// TestProgressBarOnlyOnATerminal: a bar is drawn on a terminal unless
// --no-progress, never into a file or pipe (quantize's \r bars in logs).
func TestProgressBarOnlyOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	for _, c := range []struct {
		name    string
		w       io.Writer
		enabled bool
		drawn   bool
	}{
		{"terminal", tty, true, true},
		{"terminal, --no-progress", tty, false, false},
		{"file", logFile, true, false},
		{"buffer", new(bytes.Buffer), true, false},
	} {
		if got := newProgressBar(c.w, c.enabled).on; got != c.drawn {
			t.Errorf("%s: bar drawn %v, want %v", c.name, got, c.drawn)
		}
	}
	// quantize with stderr in a buffer: no carriage returns.
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.gguf"), filepath.Join(dir, "out.gguf")
	writeTinyLlama(t, in)
	_, stderr, code := runCmd(t, "quantize", in, out, "q8_0")
	if code != 0 || strings.Contains(stderr, "\r") {
		t.Errorf("quantize into a buffer: exit %d, stderr %q", code, stderr)
	}
}
