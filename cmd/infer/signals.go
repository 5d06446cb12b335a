package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/infer-go/infer/gguf"
)

// stopSignals are the signals that stop a command cleanly: Ctrl-C, what
// `timeout`, `kill` and `docker stop` send, and a closed terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// cleanupGrace is how long a command has, after the first stop signal, to
// unwind (remove its temporary file, print its timings) before the handler
// removes the temporary files itself and exits.
const cleanupGrace = 5 * time.Second

// signalError is the error of a command stopped by a signal: the command's
// own error (usually context.Canceled) if it had one. run exits with 128 +
// the signal's number, as a shell reports a process killed by it.
type signalError struct {
	sig os.Signal
	err error // what the command returned; nil if it finished its work
}

func (e *signalError) Error() string {
	return fmt.Sprintf("interrupted by %s", signalName(e.sig))
}

func (e *signalError) Unwrap() error { return e.err }

func (e *signalError) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// withSignals runs fn with a context that the first stop signal cancels.
// fn is expected to return soon after: its writers remove their temporary
// files as they unwind (gguf.AtomicFile.Abort). If it has not returned
// within cleanupGrace, or a second signal comes, the handler removes every
// temporary file still open and exits at once with the signal's status.
// When a signal arrived, the result is a *signalError whatever fn returned.
func withSignals(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals...)
	var (
		mu     sync.Mutex
		caught os.Signal
	)
	finished := make(chan struct{})
	go func() {
		var first os.Signal
		select {
		case first = <-ch:
		case <-finished:
			return
		}
		mu.Lock()
		caught = first
		mu.Unlock()
		cancel()
		select {
		case <-ch:
		case <-time.After(cleanupGrace):
		case <-finished:
			return
		}
		gguf.RemoveTemporary()
		os.Exit((&signalError{sig: first}).exitCode())
	}()
	err := fn(ctx)
	signal.Stop(ch)
	close(finished)
	mu.Lock()
	defer mu.Unlock()
	if caught != nil {
		return &signalError{sig: caught, err: err}
	}
	return err
}

// noteStaleTemps says which temporary files of earlier runs killed outright
// (kill -9) the write of out is about to remove (gguf.CreateAtomic does).
func noteStaleTemps(w io.Writer, out string) {
	for _, st := range gguf.StaleTemps(out) {
		fmt.Fprintf(w, "note: removing %s, left by process %d, which was killed before it finished\n", st.Name, st.PID)
	}
}
