package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/infer-go/infer/gguf"
)

func init() {
	register(command{name: "logits", summary: "write the logits of every prompt position to a file", run: runLogits})
}

func runLogits(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logits", stderr)
	var mf modelFlags
	var pf promptFlags
	mf.register(fs)
	pf.register(fs)
	tokens := fs.String("tokens", "", "comma-separated token ids to run instead of a prompt, e.g. 1,9038,2501")
	out := fs.String("o", "", "output file: float32 little-endian [n_tokens][n_vocab]")
	noBOS := fs.Bool("no-bos", false, "do not add the BOS token the model asks for")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer logits -m model.gguf (-p text | -f file | --tokens 1,2,3) -o out.f32 [flags]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usagef("no output file: give -o out.f32")
	}
	text, given, err := pf.prompt()
	if err != nil {
		return err
	}
	var ids []int32
	if *tokens != "" {
		if given {
			return usagef("give a prompt (-p/-f) or --tokens, not both")
		}
		if ids, err = parseIDs(*tokens); err != nil {
			return usagef("--tokens: %v", err)
		}
	}

	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	if *tokens == "" {
		ids = m.Tokenize(text, !*noBOS, true)
	}
	vocab := m.Config().VocabSize
	for _, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("token id %d is out of range: the vocabulary has %d tokens", id, vocab)
		}
	}
	logits, err := m.Logits(ids)
	if err != nil {
		return err
	}
	// A stop signal while the file is written removes the partial file.
	noteStaleTemps(stderr, *out)
	err = withSignals(func(ctx context.Context) error { return writeFloat32sAtomic(ctx, *out, logits) })
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, formatIDs(ids))
	fmt.Fprintf(stderr, "wrote %d x %d logits to %s\n", len(ids), vocab, *out)
	return nil
}

// parseIDs reads "1,2,3", "1 2 3" or llama-tokenize's "[1, 2, 3]". With
// commas, an empty entry ("1,,2", a trailing comma) is an error rather than
// skipped, since it usually means an id went missing.
func parseIDs(s string) ([]int32, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	var fields []string
	if strings.Contains(s, ",") {
		fields = strings.Split(s, ",")
	} else {
		fields = strings.Fields(s)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no token ids in %q", s)
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty token id at position %d of %q", i+1, s)
		}
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("token id %q is not a number", f)
		}
		if v < 0 {
			return nil, fmt.Errorf("token id %d is negative", v)
		}
		ids[i] = int32(v)
	}
	return ids, nil
}

// writeFloat32sAtomic writes xs as little-endian float32 to path through a
// gguf.AtomicFile, so readers never see a partial file, a failure or a stop
// signal leaves none behind, and the file gets the umask's mode.
func writeFloat32sAtomic(ctx context.Context, path string, xs []float32) error {
	f, err := gguf.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<16)
	var buf [4]byte
	for i, x := range xs {
		if i%(1<<20) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
		if _, err = w.Write(buf[:]); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}
