package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Setting is one parameter as a REPL's /show displays it.
type Setting struct {
	// Name is llama.cpp's flag name without the dashes, e.g. "top-p".
	Name string
	// Value is the current value, formatted so that Set(Name, Value)
	// restores it.
	Value string
	// Note says what the special values mean, e.g. "1 = off".
	Note string
}

// param describes one parameter: its names, how to read, write and check it.
type param struct {
	name    string
	aliases []string
	note    string
	get     func(p *Params) string
	set     func(p *Params, v string) error // parse and assign; check judges the range
	check   func(p *Params) error
}

// paramTable lists every parameter in chain order; Settings, Set, Get and
// Validate all read it.
var paramTable = []param{
	{
		name: "logit-bias", aliases: []string{"logit-biases"},
		note: `TOKEN_ID(+/-)BIAS, comma-separated; "none" = off`,
		get:  func(p *Params) string { return formatLogitBiases(p.LogitBias) },
		set: func(p *Params, v string) error {
			lb, err := parseLogitBiases(v)
			if err == nil {
				p.LogitBias = lb
			}
			return err
		},
		check: func(p *Params) error {
			for _, lb := range p.LogitBias {
				if err := lb.check(); err != nil {
					return err
				}
			}
			return nil
		},
	},
	// 0 is accepted as off: it is the zero Params' value, which callers
	// use for plain greedy decoding (llama.cpp would divide by it).
	float32Param("repeat-penalty", []string{"penalty-repeat"}, "1 = off, and 0 as the zero value",
		func(p *Params) *float32 { return &p.RepeatPenalty }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	intParam("repeat-last-n", []string{"penalty-last-n"}, "0 = off, -1 = context size",
		func(p *Params) *int { return &p.RepeatLastN }, "an integer >= -1",
		func(n int) bool { return n >= -1 }),
	float32Param("frequency-penalty", []string{"penalty-freq", "freq-penalty"}, "0 = off",
		func(p *Params) *float32 { return &p.FrequencyPenalty }, "a number", nil),
	float32Param("presence-penalty", []string{"penalty-present"}, "0 = off",
		func(p *Params) *float32 { return &p.PresencePenalty }, "a number", nil),
	float32Param("dry-multiplier", nil, "0 = off",
		func(p *Params) *float32 { return &p.DRYMultiplier }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	{
		name: "dry-base", note: "applies when dry-multiplier is on",
		get: func(p *Params) string { return formatFloat(p.DRYBase) },
		set: func(p *Params, v string) error { return parseFloat32("dry-base", v, "a number", &p.DRYBase) },
		check: func(p *Params) error {
			switch {
			case !finite(p.DRYBase):
				return rangeError("dry-base", formatFloat(p.DRYBase), "a number >= 1", "")
			case p.DRYMultiplier != 0 && p.DRYBase < 1:
				return rangeError("dry-base", formatFloat(p.DRYBase), "a number >= 1 when dry-multiplier is on", "")
			}
			return nil
		},
	},
	intParam("dry-allowed-length", nil, "repetitions this long go unpenalised",
		func(p *Params) *int { return &p.DRYAllowedLength }, "an integer >= 0",
		func(n int) bool { return n >= 0 }),
	intParam("dry-penalty-last-n", nil, "0 = off, -1 = context size",
		func(p *Params) *int { return &p.DRYPenaltyLastN }, "an integer >= -1",
		func(n int) bool { return n >= -1 }),
	{
		name: "dry-sequence-breakers", aliases: []string{"dry-sequence-breaker"},
		note: `quoted strings, comma-separated; "none" = no breakers`,
		get:  func(p *Params) string { return formatBreakers(p.DRYSequenceBreakers) },
		set: func(p *Params, v string) error {
			b, err := parseBreakers(v)
			if err == nil {
				p.DRYSequenceBreakers = b
			}
			return err
		},
	},
	intParam("top-k", nil, "0 = off", func(p *Params) *int { return &p.TopK }, "an integer", nil),
	float32Param("typical", []string{"typical-p", "typ-p"}, "1 = off",
		func(p *Params) *float32 { return &p.TypicalP }, "a number in [0, 1]", inUnit),
	float32Param("top-p", nil, "1 = off", func(p *Params) *float32 { return &p.TopP }, "a number in [0, 1]", inUnit),
	float32Param("min-p", nil, "0 = off", func(p *Params) *float32 { return &p.MinP }, "a number in [0, 1]", inUnit),
	float32Param("xtc-probability", nil, "0 = off",
		func(p *Params) *float32 { return &p.XTCProbability }, "a number in [0, 1]", inUnit),
	float32Param("xtc-threshold", nil, "> 0.5 = off",
		func(p *Params) *float32 { return &p.XTCThreshold }, "a number in [0, 1]", inUnit),
	float32Param("temp", []string{"temperature"}, "0 = greedy",
		func(p *Params) *float32 { return &p.Temp }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	float32Param("dynatemp-range", nil, "0 = off",
		func(p *Params) *float32 { return &p.DynatempRange }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	float32Param("dynatemp-exp", []string{"dynatemp-exponent"}, "",
		func(p *Params) *float32 { return &p.DynatempExponent }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	intParam("mirostat", nil, "0 = off, 1 = Mirostat, 2 = Mirostat 2.0",
		func(p *Params) *int { return &p.Mirostat }, "0, 1 or 2",
		func(n int) bool { return n >= 0 && n <= 2 }),
	float32Param("mirostat-lr", []string{"mirostat-eta"}, "learning rate (eta)",
		func(p *Params) *float32 { return &p.MirostatEta }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	float32Param("mirostat-ent", []string{"mirostat-tau"}, "target entropy (tau)",
		func(p *Params) *float32 { return &p.MirostatTau }, "a number >= 0",
		func(x float32) bool { return x >= 0 }),
	{
		name: "seed", note: "-1 = a random one",
		get: func(p *Params) string { return strconv.FormatUint(p.Seed, 10) },
		set: func(p *Params, v string) error {
			s, err := ParseSeed(v)
			if err == nil {
				p.Seed = s
			}
			return err
		},
	},
}

// Settings returns every parameter's name, value and note, in chain order.
func (p Params) Settings() []Setting {
	out := make([]Setting, len(paramTable))
	for i := range paramTable {
		out[i] = Setting{Name: paramTable[i].name, Value: paramTable[i].get(&p), Note: paramTable[i].note}
	}
	return out
}

// Get returns the value of the named parameter as Settings formats it.
func (p Params) Get(name string) (string, error) {
	d, err := lookup(name)
	if err != nil {
		return "", err
	}
	return d.get(&p), nil
}

// Set parses value and assigns it to the parameter called name: one of
// llama.cpp's flag names, with or without leading dashes, with '-' or '_'
// (temp, top-k, top-p, min-p, typical, repeat-penalty, repeat-last-n,
// presence-penalty, frequency-penalty, dry-multiplier, dry-base,
// dry-allowed-length, dry-penalty-last-n, dry-sequence-breakers,
// xtc-probability, xtc-threshold, dynatemp-range, dynatemp-exp, mirostat,
// mirostat-lr, mirostat-ent, logit-bias, seed) or one of their aliases.
// p is unchanged if value does not parse or the result fails Validate.
// A seed of -1 draws a random seed.
func (p *Params) Set(name, value string) error {
	d, err := lookup(name)
	if err != nil {
		return err
	}
	q := *p
	if err := d.set(&q, strings.TrimSpace(value)); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	*p = q
	return nil
}

// Names returns the parameter names Set accepts, without aliases, in chain order.
func Names() []string {
	out := make([]string, len(paramTable))
	for i := range paramTable {
		out[i] = paramTable[i].name
	}
	return out
}

func lookup(name string) (*param, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimLeft(strings.TrimSpace(name), "-")), "_", "-")
	for i := range paramTable {
		if paramTable[i].name == n {
			return &paramTable[i], nil
		}
		for _, a := range paramTable[i].aliases {
			if a == n {
				return &paramTable[i], nil
			}
		}
	}
	return nil, fmt.Errorf("sampler: unknown parameter %q (want one of %s)", name, strings.Join(Names(), ", "))
}

func inUnit(x float32) bool { return x >= 0 && x <= 1 }

func finite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// rangeError is Validate's and Set's message: "top-p 1.5: want a number in
// [0, 1] (1 = off)".
func rangeError(name, value, want, note string) error {
	if note != "" {
		return fmt.Errorf("%s %s: want %s (%s)", name, value, want, note)
	}
	return fmt.Errorf("%s %s: want %s", name, value, want)
}

// float32Param describes a float32 field; ok (nil: any) is its range
// beyond being finite, want says it in words.
func float32Param(name string, aliases []string, note string, field func(*Params) *float32, want string, ok func(float32) bool) param {
	return param{
		name: name, aliases: aliases, note: note,
		get: func(p *Params) string { return formatFloat(*field(p)) },
		set: func(p *Params, v string) error { return parseFloat32(name, v, want, field(p)) },
		check: func(p *Params) error {
			x := *field(p)
			if !finite(x) || ok != nil && !ok(x) {
				return rangeError(name, formatFloat(x), want, note)
			}
			return nil
		},
	}
}

// intParam describes an int field, as float32Param does a float32 one.
func intParam(name string, aliases []string, note string, field func(*Params) *int, want string, ok func(int) bool) param {
	return param{
		name: name, aliases: aliases, note: note,
		get: func(p *Params) string { return strconv.Itoa(*field(p)) },
		set: func(p *Params, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s %q: want %s: %w", name, v, want, numErr(err))
			}
			*field(p) = n
			return nil
		},
		check: func(p *Params) error {
			if n := *field(p); ok != nil && !ok(n) {
				return rangeError(name, strconv.Itoa(n), want, note)
			}
			return nil
		},
	}
}

func parseFloat32(name, v, want string, dst *float32) error {
	x, err := strconv.ParseFloat(v, 32)
	if err != nil {
		return fmt.Errorf("%s %q: want %s: %w", name, v, want, numErr(err))
	}
	*dst = float32(x)
	return nil
}

// numErr is strconv's reason (invalid syntax, value out of range) without
// its function name and the repeated input.
func numErr(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

// formatFloat prints the shortest decimal that reads back as the same
// float32: 0.8, not 0.800000011920929.
func formatFloat(x float32) string { return strconv.FormatFloat(float64(x), 'g', -1, 32) }

// ParseSeed parses a --seed value: a decimal uint64, or -1 for a random seed
// (llama.cpp's LLAMA_DEFAULT_SEED), drawn here.
func ParseSeed(v string) (uint64, error) {
	v = strings.TrimSpace(v)
	if v == "-1" {
		return rand.Uint64(), nil
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q: want a non-negative integer or -1 (random): %w", v, numErr(err))
	}
	return s, nil
}

// check reports a bias Validate rejects: a negative token id, NaN, or +Inf
// (which makes every probability NaN; a large finite bias forces a token).
func (lb LogitBias) check() error {
	switch {
	case lb.Token < 0:
		return fmt.Errorf("logit-bias %s: want a token id >= 0", lb)
	case math.IsNaN(float64(lb.Bias)) || math.IsInf(float64(lb.Bias), 1):
		return fmt.Errorf("logit-bias %s: want a finite bias or -inf (a large finite bias such as +100 forces a token)", lb)
	}
	return nil
}

// String formats lb the way ParseLogitBias reads it: 15043+1, 15043-inf.
func (lb LogitBias) String() string {
	b := formatFloat(lb.Bias)
	switch {
	case math.IsInf(float64(lb.Bias), 0):
		b = strings.ToLower(b) // +Inf -> +inf
	case lb.Bias >= 0 || math.IsNaN(float64(lb.Bias)):
		b = "+" + b
	}
	return strconv.Itoa(int(lb.Token)) + b
}

// ParseLogitBias parses one -l/--logit-bias value, llama.cpp's
// TOKEN_ID(+/-)BIAS: "15043+1" raises token 15043's logit by 1, "15043-inf"
// bans it. The bias is checked as Validate does.
func ParseLogitBias(s string) (LogitBias, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "+-")
	if i <= 0 {
		return LogitBias{}, fmt.Errorf("logit-bias %q: want TOKEN_ID(+/-)BIAS, e.g. 15043+1 or 15043-inf", s)
	}
	tok, err := strconv.ParseInt(s[:i], 10, 32)
	if err != nil {
		return LogitBias{}, fmt.Errorf("logit-bias %q: token id %q: %w", s, s[:i], numErr(err))
	}
	// The sign belongs to the number: "+1", "-inf".
	bias, err := strconv.ParseFloat(s[i:], 32)
	if err != nil {
		return LogitBias{}, fmt.Errorf("logit-bias %q: bias %q: %w", s, s[i:], numErr(err))
	}
	lb := LogitBias{Token: int32(tok), Bias: float32(bias)}
	return lb, lb.check()
}

func parseLogitBiases(v string) ([]LogitBias, error) {
	if v == "" || strings.EqualFold(v, "none") {
		return nil, nil
	}
	var out []LogitBias
	for f := range strings.SplitSeq(v, ",") {
		lb, err := ParseLogitBias(f)
		if err != nil {
			return nil, err
		}
		out = append(out, lb)
	}
	return out, nil
}

func formatLogitBiases(lbs []LogitBias) string {
	if len(lbs) == 0 {
		return "none"
	}
	s := make([]string, len(lbs))
	for i, lb := range lbs {
		s[i] = lb.String()
	}
	return strings.Join(s, ",")
}

// formatBreakers quotes each breaker the Go way, comma-separated: "\n", ":".
func formatBreakers(b []string) string {
	if len(b) == 0 {
		return "none"
	}
	s := make([]string, len(b))
	for i, x := range b {
		s[i] = strconv.Quote(x)
	}
	return strings.Join(s, ", ")
}

// parseBreakers reads formatBreakers' format: Go-quoted strings separated
// by commas or spaces, or "none". A value that does not start with a quote
// is one breaker as it stands.
func parseBreakers(v string) ([]string, error) {
	if strings.EqualFold(v, "none") {
		return []string{}, nil
	}
	if v == "" || v[0] != '"' && v[0] != '`' {
		return []string{v}, nil
	}
	var out []string
	rest := v
	for rest != "" {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("dry-sequence-breakers %q: want quoted strings separated by commas, e.g. \"\\n\", \":\": at %q: %w", v, rest, err)
		}
		s, _ := strconv.Unquote(q) // QuotedPrefix accepted it
		out = append(out, s)
		rest = strings.TrimLeft(rest[len(q):], " \t")
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimLeft(rest[1:], " \t")
		}
	}
	return out, nil
}
