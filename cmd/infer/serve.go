package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/chat"
	"github.com/infer-go/infer/server"
)

func init() {
	register(command{name: "serve", summary: "an OpenAI-compatible HTTP server (infer serve -m model.gguf --port 8080)", run: runServe})
}

// runServe serves until SIGINT or SIGTERM, then shuts down gracefully
// and exits 0. A second signal during the shutdown kills the process as
// usual: the handler is removed once the first has arrived.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return serve(ctx, args, stderr, nil)
}

// serve runs the server until ctx ends: it stops accepting connections,
// lets running requests finish within --grace, cancels what is left and
// returns nil. listening, if not nil, gets the address once the socket is
// open (before the model is loaded: /health says 503 until it is).
func serve(ctx context.Context, args []string, stderr io.Writer, listening func(addr string)) error {
	fs := newFlagSet("serve", stderr)
	var mf modelFlags
	mf.register(fs)
	host := fs.String("host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
	port := fs.Int("port", 8080, "port to listen on (0: any free one)")
	parallel := fs.Int("parallel", 1, "slots: requests generating at once, each with its own KV cache; -c is split across them")
	fs.IntVar(parallel, "np", 1, "same as --parallel")
	queue := fs.Int("queue", server.DefaultQueue, "requests that may wait for a slot (0: none); beyond: 503 with Retry-After")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest a request may take, waiting included (0: no limit)")
	maxBody := fs.Int64("max-body", server.DefaultMaxBodyBytes, "largest request body in bytes")
	maxTokens := fs.Int("max-tokens", 0, "most tokens a request may ask for, and the default (0: until end of generation or the slot's context)")
	apiKey := fs.String("api-key", "", "require \"Authorization: Bearer KEY\" (default: $INFER_API_KEY; none: open)")
	alias := fs.String("alias", "", "the model's name in the API (default: the file's base name)")
	chatTemplate := fs.String("chat-template", "", "chat template: a built-in name ("+strings.Join(chat.BuiltinNames(), ", ")+"), model:NAME or a template file (default: the model's own)")
	grace := fs.Duration("grace", 10*time.Second, "on SIGTERM/SIGINT, how long running requests may take to finish before they are cancelled")
	logFormat := fs.String("log-format", "text", "request log on stderr: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer serve -m model.gguf [--host 127.0.0.1] [--port 8080] [--parallel N] [-c total context] [flags]")
		fmt.Fprintln(stderr, "-c is the total context, split evenly across the --parallel slots (as llama-server's): -c 4096 --parallel 4 gives each request 1024 positions.")
		fmt.Fprintln(stderr, "Endpoints: POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize; GET /v1/models, /health, /metrics.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if mf.model == "" {
		return usagef("no model: give -m model.gguf")
	}
	switch {
	case *parallel < 1:
		return usagef("--parallel %d: want at least 1 slot", *parallel)
	case *queue < 0:
		return usagef("--queue %d: want 0 or more", *queue)
	case *port < 0 || *port > 65535:
		return usagef("--port %d: want 0 to 65535", *port)
	case *maxBody < 1:
		return usagef("--max-body %d: want at least 1 byte", *maxBody)
	case *maxTokens < 0:
		return usagef("--max-tokens %d: want 0 (no limit) or more", *maxTokens)
	case *timeout < 0 || *grace < 0:
		return usagef("--timeout and --grace cannot be negative")
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		return usagef("--log-format %q: want text or json", *logFormat)
	}
	logger := slog.New(handler)
	if *apiKey == "" {
		*apiKey = os.Getenv("INFER_API_KEY")
	}
	q := *queue
	if q == 0 {
		q = -1 // server.Config: negative is no queue, 0 its default
	}

	// Listen before loading, so that a load balancer sees the replica
	// (503 from /health) and a port in use fails at once.
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	gate := server.NewGate()
	// No write timeout: a streamed reply lasts as long as it generates
	// (--timeout bounds it).
	hs := &http.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	addr := ln.Addr().String()
	logger.Info("listening", "addr", "http://"+addr)
	if listening != nil {
		listening(addr)
	}

	type loaded struct {
		m   *infer.Model
		err error
	}
	loadDone := make(chan loaded, 1)
	go func() {
		m, err := mf.load()
		loadDone <- loaded{m, err}
	}()
	var m *infer.Model
	select {
	case l := <-loadDone:
		if l.err != nil {
			gate.Fail(l.err.Error())
			hs.Close()
			return l.err
		}
		m = l.m
	case <-ctx.Done():
		hs.Close()
		logger.Info("interrupted while loading the model")
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	defer m.Close()

	srv, err := server.New(m, server.Config{
		Parallel: *parallel, ContextLength: mf.ctx, Queue: q, Timeout: *timeout, MaxBodyBytes: *maxBody,
		MaxTokensLimit: *maxTokens, APIKey: *apiKey, ModelName: *alias, ChatTemplate: *chatTemplate, Logger: logger,
	})
	if err != nil {
		hs.Close()
		return err
	}
	defer srv.Close()
	in := m.Info()
	logger.Info("model loaded", "model", srv.ModelName(), "arch", in.Arch, "type", in.FileType,
		"load_ms", ms(in.LoadTime), "threads", in.Threads)
	logger.Info("slots", "parallel", *parallel, "context_per_slot", srv.ContextPerSlot(), "queue", max(q, 0))
	if name, guessed := srv.ChatFormat(); guessed {
		logger.Warn("the model has no chat template: chat requests use a GUESSED format; pass --chat-template NAME|FILE if replies look wrong", "format", name)
	} else {
		logger.Info("chat format", "format", name)
	}
	if *apiKey == "" && *host != "127.0.0.1" && *host != "localhost" && *host != "::1" {
		logger.Warn("listening beyond this machine without --api-key: anyone who can reach the port can use the model", "host", *host)
	}
	gate.Ready(srv)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: no new connections; running requests may finish", "grace", grace.String())
	graceCtx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := hs.Shutdown(graceCtx); err != nil {
		logger.Warn("grace period over: cancelling the requests still running", "busy", srv.Stats().Busy)
		srv.CancelAll()
		// Cancelled generations end at their next token.
		lastCtx, cancelLast := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelLast()
		if err := hs.Shutdown(lastCtx); err != nil {
			hs.Close()
		}
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
