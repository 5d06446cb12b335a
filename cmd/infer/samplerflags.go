package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/infer-go/infer/sampler"
)

// addSamplerFlags registers llama.cpp's sampling flags on fs, writing into p
// (start from sampler.DefaultParams()): --temp, --top-k, --top-p, --min-p,
// --typical, --repeat-penalty, --repeat-last-n, --presence-penalty,
// --frequency-penalty, --dry-multiplier, --dry-base, --dry-allowed-length,
// --dry-penalty-last-n, --dry-sequence-breaker, --xtc-probability,
// --xtc-threshold, --dynatemp-range, --dynatemp-exp, --mirostat,
// --mirostat-lr, --mirostat-ent, -l/--logit-bias and -s/--seed. Each flag
// checks its value as it is parsed (through p.Set); run p.Validate() after
// parsing all the same, for values that only conflict together.
//
// As in llama.cpp, the seed defaults to -1, a random one: addSamplerFlags
// sets p.Seed to a random value now, which --seed N replaces.
func addSamplerFlags(fs *flag.FlagSet, p *sampler.Params) {
	param := func(name, usage string) {
		fs.Var(samplerFlag{p, name}, name, usage)
	}
	param("temp", "sampling temperature `N` (0 = greedy)")
	param("top-k", "top-k sampling: keep the `N` most likely tokens (0 = off)")
	param("top-p", "top-p sampling: keep the most likely tokens up to probability mass `P` (1.0 = off, 0 = the most likely only)")
	param("min-p", "min-p sampling: drop tokens less likely than `P` times the most likely (0.0 = off)")
	param("typical", "locally typical sampling, parameter `P` (1.0 = off)")
	param("repeat-penalty", "penalize repeated tokens by `N` (1.0 = off)")
	param("repeat-last-n", "last `N` tokens the repeat, presence and frequency penalties look at (0 = off, -1 = context size)")
	param("presence-penalty", "repeat alpha presence penalty `N` (0.0 = off)")
	param("frequency-penalty", "repeat alpha frequency penalty `N` (0.0 = off)")
	param("dry-multiplier", "DRY sampling multiplier `N` (0.0 = off)")
	param("dry-base", "DRY sampling base value `N` (DRY is off below 1)")
	param("dry-allowed-length", "longest repetition `N` DRY leaves unpenalized")
	param("dry-penalty-last-n", "last `N` tokens DRY looks at (0 = off, -1 = context size)")
	fs.Var(&breakerFlag{p: p}, "dry-sequence-breaker",
		"add a DRY sequence breaker `STRING`, clearing out the default breakers ('\\n', ':', '\"', '*') on first use; \"none\" = no breakers (repeatable)")
	param("xtc-probability", "XTC probability `N` (0.0 = off)")
	param("xtc-threshold", "XTC threshold `N` (> 0.5 = off)")
	param("dynatemp-range", "dynamic temperature range `N` (0.0 = off)")
	param("dynatemp-exp", "dynamic temperature exponent `N`")
	param("mirostat", "use Mirostat sampling `N` instead of the penalties, DRY, top-k, typical, top-p, min-p and XTC (0 = off, 1 = Mirostat, 2 = Mirostat 2.0)")
	param("mirostat-lr", "Mirostat learning rate, parameter eta `N`")
	param("mirostat-ent", "Mirostat target entropy, parameter tau `N`")
	lb := logitBiasFlag{p}
	fs.Var(lb, "logit-bias", "change a token's likelihood by `TOKEN_ID(+/-)BIAS`, e.g. 15043+1 to raise token 15043, 15043-inf to ban it (repeatable)")
	fs.Var(lb, "l", "same as --logit-bias `TOKEN_ID(+/-)BIAS`")
	sf := &seedFlag{p: p, random: true}
	p.Seed = rand.Uint64()
	fs.Var(sf, "seed", "random `SEED` (-1 = a random one)")
	fs.Var(sf, "s", "same as --seed `SEED`")
}

// samplerFlag is one sampler parameter as a flag, read and written through
// Params.Get and Params.Set: its value prints as the shortest decimal
// (0.8, not 0.800000011920929) and a bad value is rejected with llama.cpp's
// name and range.
type samplerFlag struct {
	p    *sampler.Params
	name string
}

func (f samplerFlag) String() string {
	if f.p == nil { // the zero flag.Value that flag.PrintDefaults compares with
		return ""
	}
	v, _ := f.p.Get(f.name)
	return v
}

func (f samplerFlag) Set(v string) error { return f.p.Set(f.name, v) }

// logitBiasFlag appends one -l/--logit-bias entry per use.
type logitBiasFlag struct{ p *sampler.Params }

func (f logitBiasFlag) String() string {
	if f.p == nil || len(f.p.LogitBias) == 0 {
		return ""
	}
	v, _ := f.p.Get("logit-bias")
	return v
}

func (f logitBiasFlag) Set(v string) error {
	lb, err := sampler.ParseLogitBias(v)
	if err != nil {
		return err
	}
	f.p.LogitBias = append(f.p.LogitBias[:len(f.p.LogitBias):len(f.p.LogitBias)], lb)
	return nil
}

// breakerFlag adds one DRY sequence breaker per use; the first use drops
// the defaults, and "none" drops every breaker so far, as in llama.cpp.
type breakerFlag struct {
	p       *sampler.Params
	cleared bool
}

func (f *breakerFlag) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	v, _ := f.p.Get("dry-sequence-breakers")
	return v
}

func (f *breakerFlag) Set(v string) error {
	if !f.cleared {
		f.p.DRYSequenceBreakers, f.cleared = nil, true
	}
	if v == "none" {
		f.p.DRYSequenceBreakers = []string{}
		return nil
	}
	f.p.DRYSequenceBreakers = append(f.p.DRYSequenceBreakers[:len(f.p.DRYSequenceBreakers):len(f.p.DRYSequenceBreakers)], v)
	return nil
}

// seedFlag is --seed: -1 (the default) draws a random seed.
type seedFlag struct {
	p      *sampler.Params
	random bool
}

func (f *seedFlag) String() string {
	switch {
	case f == nil || f.p == nil:
		return ""
	case f.random:
		return "-1"
	}
	return strconv.FormatUint(f.p.Seed, 10)
}

func (f *seedFlag) Set(v string) error {
	seed, err := sampler.ParseSeed(v)
	if err != nil {
		return err
	}
	f.p.Seed, f.random = seed, strings.TrimSpace(v) == "-1"
	return nil
}

// printSamplerParams writes the sampler's seed, its non-default settings and
// its chain, the way llama.cpp reports them before generating.
func printSamplerParams(w io.Writer, p sampler.Params) {
	defaults := map[string]string{}
	for _, s := range sampler.DefaultParams().Settings() {
		defaults[s.Name] = s.Value
	}
	var changed []string
	for _, s := range p.Settings() {
		if s.Name != "seed" && s.Value != defaults[s.Name] {
			changed = append(changed, s.Name+" = "+s.Value)
		}
	}
	fmt.Fprintf(w, "sampler seed: %d\n", p.Seed)
	if len(changed) > 0 {
		fmt.Fprintf(w, "sampler params (changed from the defaults): %s\n", strings.Join(changed, ", "))
	}
	fmt.Fprintf(w, "sampler chain: %s\n", p.Chain())
}
