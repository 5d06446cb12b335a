package main

import (
	"bytes"
	"flag"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/sampler"
)

func parseSamplerFlags(args ...string) (sampler.Params, *flag.FlagSet, error) {
	p := sampler.DefaultParams()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addSamplerFlags(fs, &p)
	err := fs.Parse(args)
	return p, fs, err
}

func TestSamplerFlags(t *testing.T) {
	p, _, err := parseSamplerFlags(
		"--temp", "0.5", "--top-k", "7", "--top-p", "0", "--min-p", "0.1", "--typical", "0.9",
		"--repeat-penalty", "1.1", "--repeat-last-n", "-1", "--presence-penalty", "0.5", "--frequency-penalty", "0.25",
		"--dry-multiplier", "0.8", "--dry-base", "2", "--dry-allowed-length", "3", "--dry-penalty-last-n", "128",
		"--dry-sequence-breaker", "\n", "--dry-sequence-breaker", "###",
		"--xtc-probability", "0.5", "--xtc-threshold", "0.2", "--dynatemp-range", "0.3", "--dynatemp-exp", "1.5",
		"--mirostat", "2", "--mirostat-lr", "0.2", "--mirostat-ent", "4",
		"-l", "15043+1", "--logit-bias", "2-inf", "-s", "42",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := sampler.Params{
		Temp: 0.5, TopK: 7, TopP: 0, MinP: 0.1, TypicalP: 0.9,
		RepeatPenalty: 1.1, RepeatLastN: -1, PresencePenalty: 0.5, FrequencyPenalty: 0.25,
		DRYMultiplier: 0.8, DRYBase: 2, DRYAllowedLength: 3, DRYPenaltyLastN: 128,
		DRYSequenceBreakers: []string{"\n", "###"},
		XTCProbability:      0.5, XTCThreshold: 0.2, DynatempRange: 0.3, DynatempExponent: 1.5,
		Mirostat: 2, MirostatEta: 0.2, MirostatTau: 4,
		LogitBias: []sampler.LogitBias{{Token: 15043, Bias: 1}, {Token: 2, Bias: float32(math.Inf(-1))}},
		Seed:      42,
	}
	if !slices.Equal(p.Settings(), want.Settings()) {
		t.Errorf("parsed\n %v\nwant\n %v", p.Settings(), want.Settings())
	}
}

func TestSamplerFlagsDefaults(t *testing.T) {
	a, _, err := parseSamplerFlags()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := parseSamplerFlags()
	if a.Seed == b.Seed {
		t.Errorf("two runs without --seed drew the same seed %d", a.Seed)
	}
	d := sampler.DefaultParams()
	a.Seed = d.Seed
	if !slices.Equal(a.Settings(), d.Settings()) {
		t.Errorf("no flags: %v, want the defaults %v", a.Settings(), d.Settings())
	}

	p, _, err := parseSamplerFlags("--dry-sequence-breaker", "none")
	if err != nil || len(p.DRYSequenceBreakers) != 0 {
		t.Errorf("--dry-sequence-breaker none: %q, %v", p.DRYSequenceBreakers, err)
	}
	p, _, err = parseSamplerFlags("--dry-sequence-breaker", "none", "--dry-sequence-breaker", "x")
	if err != nil || !slices.Equal(p.DRYSequenceBreakers, []string{"x"}) {
		t.Errorf("none then x: %q, %v", p.DRYSequenceBreakers, err)
	}
	p, _, err = parseSamplerFlags("--seed", "7", "--seed", "-1")
	if err != nil || p.Seed == 7 {
		t.Errorf("--seed 7 --seed -1: seed %d, %v", p.Seed, err)
	}
}

func TestSamplerFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--top-p", "2"}, "top-p 2: want a number in [0, 1] (1 = off)"},
		{[]string{"--temp", "nan"}, "temp NaN: want a number >= 0"},
		{[]string{"--mirostat", "3"}, "mirostat 3: want 0, 1 or 2"},
		{[]string{"--repeat-last-n", "-2"}, "repeat-last-n -2: want an integer >= -1"},
		{[]string{"-l", "15043"}, `logit-bias "15043": want TOKEN_ID(+/-)BIAS`},
		{[]string{"--seed", "x"}, `seed "x": want a non-negative integer or -1`},
		{[]string{"--top-k", "many"}, `top-k "many": want an integer`},
	} {
		_, _, err := parseSamplerFlags(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestSamplerFlagsHelp(t *testing.T) {
	_, fs, _ := parseSamplerFlags()
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	out := help.String()
	for _, want := range []string{
		"-temp N\n", "(default 0.8)", "(default 0.95)", "(default 0.05)", "(default 40)", "(default 1.75)",
		"(1.0 = off, 0 = the most likely only)", "(0 = off, -1 = context size)", "(default -1)",
		`(default "\n", ":", "\"", "*")`, "-logit-bias TOKEN_ID(+/-)BIAS", "(> 0.5 = off)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.800000") || strings.Contains(out, "0.0500000") {
		t.Errorf("help prints float32 defaults as float64:\n%s", out)
	}
}

func TestPrintSamplerParams(t *testing.T) {
	p := sampler.DefaultParams()
	p.Seed, p.TopK = 5, 10
	var b bytes.Buffer
	printSamplerParams(&b, p)
	want := "sampler seed: 5\nsampler params (changed from the defaults): top-k = 10\n" +
		"sampler chain: logits -> top-k -> top-p -> min-p -> temp -> dist\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
