package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/tokenizer"
)

func init() {
	register(command{name: "tokenize", summary: "print the token ids of a text", run: runTokenize})
}

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", stderr)
	var pf promptFlags
	model := fs.String("m", "", "model or vocabulary file (GGUF)")
	fs.StringVar(model, "model", "", "same as -m")
	pf.register(fs)
	showPieces := fs.Bool("show-pieces", false, "print each id with its piece, one per line")
	noBOS := fs.Bool("no-bos", false, "do not add the BOS (or EOS) token the model asks for")
	parseSpecial := fs.Bool("parse-special", false, "turn the text of control tokens such as <s> into those tokens")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer tokenize -m model.gguf [flags] text   (or -p text, -f file)")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	text, given, err := pf.prompt()
	if err != nil {
		return err
	}
	switch {
	case given && len(rest) > 0:
		return usagef("give the text as an argument or with -p/-f, not both")
	case len(rest) > 1:
		return usagef("want one text argument, have %d (quote the text)", len(rest))
	case len(rest) == 1:
		text = rest[0]
	case !given:
		return usagef("no text: give it as an argument (infer tokenize -m model.gguf 'text'), with -p or with -f")
	}
	if *model == "" {
		return usagef("no model: give -m model.gguf")
	}

	// Only the vocabulary is needed, so this works on vocabulary-only files
	// too and does not reserve a KV cache.
	f, err := gguf.Open(*model)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *model, err)
	}
	ids := tok.Encode(text, !*noBOS, *parseSpecial)
	if missing := tok.Unencodable(text, ids); len(missing) > 0 {
		fmt.Fprintf(stderr, "warning: %s: they have no token\n", describeUnencodable(missing))
	}
	if *showPieces {
		for _, id := range ids {
			fmt.Fprintf(stdout, "%6d -> '%s'\n", id, tok.PieceSpecial(id)) // as llama-tokenize: "<s>", not ""
		}
		return nil
	}
	fmt.Fprintln(stdout, formatIDs(ids))
	return nil
}

// formatIDs prints ids the way llama-tokenize --ids does: [1, 2, 3].
func formatIDs(ids []int32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, id)
	}
	b.WriteByte(']')
	return b.String()
}

// parseInterspersed parses flags that may come after positional arguments
// (infer tokenize "text" --show-pieces), returning the positional ones.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
