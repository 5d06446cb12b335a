// Command infer runs quantized language models from GGUF files.
//
//	infer -m model.gguf -p "Once upon a time" -n 128   generate text
//	infer chat -m model.gguf                            interactive chat
//	infer info model.gguf                               describe a GGUF file
//
// Run `infer help` for every subcommand.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Each lives in its own file and registers itself
// from init, so adding one touches no other file.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// defaultCommand runs when the first argument is a flag, as in llama.cpp's
// `llama-cli -m model.gguf -p ...`.
const defaultCommand = "generate"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := defaultCommand
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == defaultCommand && len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		name, args = "version", nil
	}
	if name == defaultCommand {
		name, args = conversationMode(args)
	}
	if name == "help" || (name == defaultCommand && len(args) == 0) {
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "infer: unknown command %q (run `infer help` for the list)\n", name)
		return 2
	}
	err := c.run(args, stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if be, ok := errors.AsType[bareError](err); ok {
		fmt.Fprintln(stderr, be.Error())
	} else {
		fmt.Fprintf(stderr, "infer %s: %s\n", name, errorText(name, err))
	}
	if se, ok := errors.AsType[*signalError](err); ok {
		return se.exitCode()
	}
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

// errorText is err's message without the prefixes that "infer CMD: "
// already says: the library's errors start with "infer: " (and perplexity's
// with "infer: perplexity: "), which would read "infer generate: infer:
// gguf: ..." once wrapped. The rule is one prefix per message: main says
// which command failed, the message says what failed.
func errorText(cmd string, err error) string {
	msg := err.Error()
	for {
		trimmed := strings.TrimPrefix(msg, "infer: ")
		trimmed = strings.TrimPrefix(trimmed, cmd+": ")
		if trimmed == msg {
			return msg
		}
		msg = trimmed
	}
}

// conversationMode turns llama-cli's `-cnv` / `--conversation` and `-i` /
// `--interactive` on the default command into the chat command, dropping
// that flag; as in llama-cli, -p then gives the system prompt.
func conversationMode(args []string) (string, []string) {
	chat := false
	for _, a := range args {
		switch a {
		case "-cnv", "--cnv", "-conversation", "--conversation", "-i", "-interactive", "--interactive":
			chat = true
		}
	}
	if !chat {
		return defaultCommand, args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-cnv", "--cnv", "-conversation", "--conversation", "-i", "-interactive", "--interactive":
		case "-p", "--prompt", "-prompt":
			out = append(out, "--system")
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		case "--":
			return "chat", append(out, args[i:]...)
		default:
			out = append(out, a)
		}
	}
	return "chat", out
}

// bareError is an error whose message is printed as it is, without the
// "infer CMD: " prefix (infer template's "template error: ...").
type bareError struct{ error }

// usageError marks a wrong flag or argument (exit status 2, like flag's).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// newFlagSet returns a flag set that reports errors through the returned
// error rather than exiting, so run decides the exit status.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("infer "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args with fs, flags and positional arguments in any
// order (infer info model.gguf --json): see reorderArgs. The positional
// arguments are then fs.Args(). A flag error is one line with a hint, not
// flag's message printed around the whole usage; -h prints the usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(reorderArgs(fs, args))
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
		return err
	case err != nil:
		return usageError{fmt.Errorf("%v (see `%s -h`)", err, fs.Name())}
	}
	return nil
}

// reorderArgs moves the flags of args (with their values) before the
// positional arguments, keeping the order within each, so that flags may
// come anywhere. A flag fs knows takes the next argument as its value
// unless it is a boolean flag or written -name=value; "--" ends the flags,
// and everything after it stays positional. An unknown flag is kept among
// the flags, for fs.Parse to report.
func reorderArgs(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(positional) == 0 {
		return flags
	}
	return append(append(flags, "--"), positional...)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: infer [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "With no command, infer generates text: infer -m model.gguf -p \"text\" -n 128")
	fmt.Fprintln(w, "Run `infer COMMAND -h` for a command's flags.")
}
