package sampler

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDefaultAndZeroParamsValid(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams().Validate() = %v", err)
	}
	if err := (Params{}).Validate(); err != nil {
		t.Errorf("Params{}.Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		set  func(p *Params)
		want string // the start of the message
	}{
		{func(p *Params) { p.Temp = nan }, "temp NaN: want a number >= 0"},
		{func(p *Params) { p.Temp = -0.5 }, "temp -0.5: want a number >= 0"},
		{func(p *Params) { p.Temp = inf }, "temp +Inf: want a number >= 0"},
		{func(p *Params) { p.TopP = 1.5 }, "top-p 1.5: want a number in [0, 1]"},
		{func(p *Params) { p.TopP = -0.1 }, "top-p -0.1: want a number in [0, 1]"},
		{func(p *Params) { p.MinP = 2 }, "min-p 2: want a number in [0, 1]"},
		{func(p *Params) { p.TypicalP = nan }, "typical NaN: want a number in [0, 1]"},
		{func(p *Params) { p.RepeatPenalty = -1 }, "repeat-penalty -1: want a number >= 0"},
		{func(p *Params) { p.RepeatLastN = -2 }, "repeat-last-n -2: want an integer >= -1"},
		{func(p *Params) { p.FrequencyPenalty = inf }, "frequency-penalty +Inf: want a number"},
		{func(p *Params) { p.PresencePenalty = nan }, "presence-penalty NaN: want a number"},
		{func(p *Params) { p.DRYMultiplier = -1 }, "dry-multiplier -1: want a number >= 0"},
		{func(p *Params) { p.DRYMultiplier, p.DRYBase = 0.8, 0.5 }, "dry-base 0.5: want a number >= 1 when dry-multiplier is on"},
		{func(p *Params) { p.DRYBase = nan }, "dry-base NaN: want a number >= 1"},
		{func(p *Params) { p.DRYAllowedLength = -1 }, "dry-allowed-length -1: want an integer >= 0"},
		{func(p *Params) { p.DRYPenaltyLastN = -3 }, "dry-penalty-last-n -3: want an integer >= -1"},
		{func(p *Params) { p.XTCProbability = 1.01 }, "xtc-probability 1.01: want a number in [0, 1]"},
		{func(p *Params) { p.XTCThreshold = -1 }, "xtc-threshold -1: want a number in [0, 1]"},
		{func(p *Params) { p.DynatempRange = -0.1 }, "dynatemp-range -0.1: want a number >= 0"},
		{func(p *Params) { p.DynatempExponent = inf }, "dynatemp-exp +Inf: want a number >= 0"},
		{func(p *Params) { p.Mirostat = 3 }, "mirostat 3: want 0, 1 or 2"},
		{func(p *Params) { p.MirostatEta = -0.1 }, "mirostat-lr -0.1: want a number >= 0"},
		{func(p *Params) { p.MirostatTau = nan }, "mirostat-ent NaN: want a number >= 0"},
		{func(p *Params) { p.LogitBias = []LogitBias{{-1, 1}} }, "logit-bias -1+1: want a token id >= 0"},
		{func(p *Params) { p.LogitBias = []LogitBias{{5, nan}} }, "logit-bias 5+NaN: want a finite bias or -inf"},
		{func(p *Params) { p.LogitBias = []LogitBias{{5, inf}} }, "logit-bias 5+inf: want a finite bias or -inf"},
	}
	for _, tt := range tests {
		p := DefaultParams()
		tt.set(&p)
		err := p.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want %q...", err, tt.want)
		}
	}

	// Values llama.cpp accepts.
	p := DefaultParams()
	p.TopK, p.FrequencyPenalty, p.PresencePenalty = -5, -1, 2
	p.DRYBase = 0.5 // DRY is off
	p.LogitBias = []LogitBias{{3, float32(math.Inf(-1))}}
	p.TopP, p.MinP, p.TypicalP, p.XTCThreshold = 0, 1, 0, 1
	if err := p.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v, want nil", p, err)
	}

	// Every problem is reported, one line each.
	p = DefaultParams()
	p.Temp, p.TopP = -1, 2
	if err := p.Validate(); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("two bad values: %v", err)
	}
}

// custom is a Params with every setting away from its default.
func custom() Params {
	return Params{
		LogitBias:     []LogitBias{{15043, 1}, {2, float32(math.Inf(-1))}, {7, -0.25}},
		RepeatPenalty: 1.1, RepeatLastN: 128, FrequencyPenalty: 0.2, PresencePenalty: -0.3,
		DRYMultiplier: 0.8, DRYBase: 1.5, DRYAllowedLength: 3, DRYPenaltyLastN: 256,
		DRYSequenceBreakers: []string{"\n", "a, \"b\"", "`"},
		TopK:                17, TypicalP: 0.9, TopP: 0.7, MinP: 0.1,
		XTCProbability: 0.5, XTCThreshold: 0.2,
		Temp: 1.3, DynatempRange: 0.4, DynatempExponent: 1.5,
		Mirostat: 2, MirostatTau: 4, MirostatEta: 0.2,
		Seed: 1234567890123,
	}
}

func TestSetSettingsRoundTrip(t *testing.T) {
	want := custom()
	var got Params = DefaultParams()
	for _, s := range want.Settings() {
		if err := got.Set(s.Name, s.Value); err != nil {
			t.Fatalf("Set(%q, %q): %v", s.Name, s.Value, err)
		}
	}
	if g, w := got.Settings(), want.Settings(); !slices.Equal(g, w) {
		t.Errorf("after Set of every setting:\n got %v\nwant %v", g, w)
	}
	if !slices.Equal(got.DRYSequenceBreakers, want.DRYSequenceBreakers) || !slices.Equal(got.LogitBias, want.LogitBias) {
		t.Errorf("lists: breakers %q, biases %v", got.DRYSequenceBreakers, got.LogitBias)
	}
	got.LogitBias, got.DRYSequenceBreakers = nil, nil
	want.LogitBias, want.DRYSequenceBreakers = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after Set of every setting: %+v, want %+v", got, want)
	}
}

func TestSettingsNamesAndFormat(t *testing.T) {
	settings := DefaultParams().Settings()
	byName := map[string]Setting{}
	for _, s := range settings {
		byName[s.Name] = s
	}
	for name, value := range map[string]string{
		"temp": "0.8", "top-k": "40", "top-p": "0.95", "min-p": "0.05", "typical": "1",
		"repeat-penalty": "1", "repeat-last-n": "64", "presence-penalty": "0", "frequency-penalty": "0",
		"dry-multiplier": "0", "dry-base": "1.75", "dry-allowed-length": "2", "dry-penalty-last-n": "-1",
		"dry-sequence-breakers": `"\n", ":", "\"", "*"`, "xtc-probability": "0", "xtc-threshold": "0.1",
		"dynatemp-range": "0", "dynatemp-exp": "1", "mirostat": "0", "mirostat-lr": "0.1", "mirostat-ent": "5",
		"logit-bias": "none", "seed": "0",
	} {
		if s, ok := byName[name]; !ok || s.Value != value {
			t.Errorf("setting %q = %+v, want value %q", name, s, value)
		}
	}
	if len(settings) != len(Names()) {
		t.Errorf("%d settings, %d names", len(settings), len(Names()))
	}
	if s := byName["top-p"]; s.Note != "1 = off" {
		t.Errorf("top-p note %q", s.Note)
	}
}

func TestSetAliasesAndErrors(t *testing.T) {
	p := DefaultParams()
	for _, c := range []struct{ name, value string }{
		{"top_k", "7"}, {"--top-p", "0.5"}, {"typical-p", "0.9"}, {"TEMP", "0.3"}, {"mirostat-eta", "0.3"},
		{"mirostat_tau", "6"}, {"dynatemp_exponent", "2"}, {"penalty-last-n", "-1"}, {"dry-sequence-breaker", "###"},
		{"logit-bias", "5+1,6-inf"},
	} {
		if err := p.Set(c.name, c.value); err != nil {
			t.Fatalf("Set(%q, %q): %v", c.name, c.value, err)
		}
	}
	if p.TopK != 7 || p.TopP != 0.5 || p.TypicalP != 0.9 || p.Temp != 0.3 || p.MirostatEta != 0.3 ||
		p.MirostatTau != 6 || p.DynatempExponent != 2 || p.RepeatLastN != -1 ||
		!slices.Equal(p.DRYSequenceBreakers, []string{"###"}) ||
		!slices.Equal(p.LogitBias, []LogitBias{{5, 1}, {6, float32(math.Inf(-1))}}) {
		t.Errorf("after Set: %+v", p)
	}

	before := p
	for _, c := range []struct{ name, value, want string }{
		{"top-p", "1.5", "top-p 1.5: want a number in [0, 1] (1 = off)"},
		{"top-p", "abc", `top-p "abc": want a number in [0, 1]: invalid syntax`},
		{"top-k", "1.5", `top-k "1.5": want an integer: invalid syntax`},
		{"temp", "nan", "temp NaN: want a number >= 0 (0 = greedy)"},
		{"mirostat", "7", "mirostat 7: want 0, 1 or 2"},
		{"seed", "-2", `seed "-2": want a non-negative integer or -1 (random)`},
		{"logit-bias", "15043", `logit-bias "15043": want TOKEN_ID(+/-)BIAS`},
		{"logit-bias", "x+1", `logit-bias "x+1": token id "x"`},
		{"logit-bias", "5+inf", "logit-bias 5+inf: want a finite bias or -inf"},
		{"dry-sequence-breakers", `"a", "b`, "dry-sequence-breakers"},
		{"dry-base", "0.5", ""}, // fine while DRY is off
		{"no-such", "1", `sampler: unknown parameter "no-such"`},
	} {
		q := p
		err := q.Set(c.name, c.value)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Set(%q, %q) = %v, want nil", c.name, c.value, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("Set(%q, %q) = %v, want %q...", c.name, c.value, err, c.want)
		case c.want != "" && !slices.Equal(q.Settings(), before.Settings()):
			t.Errorf("failed Set(%q, %q) changed the params", c.name, c.value)
		}
	}
	// Switching DRY on with a base below 1 fails, naming the base.
	q := DefaultParams()
	q.DRYBase = 0.5
	if err := q.Set("dry-multiplier", "0.8"); err == nil || !strings.HasPrefix(err.Error(), "dry-base 0.5") {
		t.Errorf("dry-multiplier on with base 0.5: %v", err)
	}

	// -1 draws a random seed.
	a, b := DefaultParams(), DefaultParams()
	if err := errorsOf(a.Set("seed", "-1"), b.Set("seed", "-1")); err != nil || a.Seed == b.Seed {
		t.Errorf("seed -1 twice: %d, %d (%v)", a.Seed, b.Seed, err)
	}
	if err := a.Set("dry-sequence-breakers", "none"); err != nil || len(a.DRYSequenceBreakers) != 0 {
		t.Errorf("breakers none: %q, %v", a.DRYSequenceBreakers, err)
	}
	if err := a.Set("logit-bias", "none"); err != nil || a.LogitBias != nil {
		t.Errorf("logit-bias none: %v, %v", a.LogitBias, err)
	}
	if v, err := custom().Get("dry-sequence-breakers"); err != nil || v != "\"\\n\", \"a, \\\"b\\\"\", \"`\"" {
		t.Errorf("Get breakers = %s, %v", v, err)
	}
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestParseLogitBias(t *testing.T) {
	tests := []struct {
		in   string
		want LogitBias
	}{
		{"15043+1", LogitBias{15043, 1}},
		{"15043-1", LogitBias{15043, -1}},
		{"15043-inf", LogitBias{15043, float32(math.Inf(-1))}},
		{" 7+0.5 ", LogitBias{7, 0.5}},
		{"0+1e2", LogitBias{0, 100}},
	}
	for _, tt := range tests {
		got, err := ParseLogitBias(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLogitBias(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseLogitBias(got.String()); err != nil || back != got {
			t.Errorf("ParseLogitBias(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "+1", "-5+1", "5", "5+", "5*2", "5+nan", "5+inf", "99999999999+1", "5+1e99"} {
		if lb, err := ParseLogitBias(bad); err == nil {
			t.Errorf("ParseLogitBias(%q) = %v, want an error", bad, lb)
		}
	}
}

func TestChain(t *testing.T) {
	tests := []struct {
		p    Params
		want string
	}{
		{DefaultParams(), "logits -> top-k -> top-p -> min-p -> temp -> dist"},
		{Params{}, "logits -> greedy"},
		{with(DefaultParams(), func(p *Params) { p.Temp = 0; p.RepeatPenalty = 1.1 }), "logits -> penalties -> greedy"},
		{custom(), "logits -> logit-bias -> temp -> mirostat-v2"},
		{with(custom(), func(p *Params) { p.Mirostat = 0 }),
			"logits -> logit-bias -> penalties -> dry -> top-k -> typical -> top-p -> min-p -> xtc -> temp-ext -> dist"},
		{with(custom(), func(p *Params) { p.Mirostat = 1 }), "logits -> logit-bias -> temp -> mirostat"},
		{with(plain(1), func(p *Params) { p.XTCProbability = 1; p.XTCThreshold = 0.6 }), "logits -> dist"},
	}
	for _, tt := range tests {
		if got := tt.p.Chain(); got != tt.want {
			t.Errorf("Chain() = %q, want %q", got, tt.want)
		}
		if got := New(tt.p).String(); got != tt.want {
			t.Errorf("Sampler.String() = %q, want %q", got, tt.want)
		}
	}
}

// everything is a chain with every stage on, the token texts included.
func everything(seed uint64) *Sampler {
	p := with(custom(), func(p *Params) { p.Mirostat, p.Seed, p.TopK = 0, seed, 400 })
	pieces := make([]string, 32000)
	for i := range pieces {
		pieces[i] = string(rune('a' + i%26))
	}
	pieces[10] = ":\n"
	return NewWithVocab(p, len(pieces), func(id int32) string { return pieces[id] })
}

func TestSeededChainsRepeat(t *testing.T) {
	logits := make([]float32, 32000)
	r := rand.New(rand.NewPCG(13, 14))
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	run := func(s *Sampler) []int32 {
		out := make([]int32, 40)
		for i := range out {
			out[i] = s.Sample(logits)
			s.Accept(out[i])
		}
		return out
	}
	mirostat := func(seed uint64, version int) *Sampler {
		p := mirostatParams(version)
		p.Seed = seed
		return New(p)
	}
	for name, make := range map[string]func(seed uint64) *Sampler{
		"everything":  everything,
		"mirostat":    func(seed uint64) *Sampler { return mirostat(seed, 1) },
		"mirostat v2": func(seed uint64) *Sampler { return mirostat(seed, 2) },
	} {
		s := make(1)
		a := run(s)
		s.Reset()
		if b := run(s); !slices.Equal(a, b) {
			t.Errorf("%s: after Reset\n%v\n%v", name, a, b)
		}
		if b := run(make(1)); !slices.Equal(a, b) {
			t.Errorf("%s: same seed\n%v\n%v", name, a, b)
		}
		if c := run(make(2)); slices.Equal(a, c) {
			t.Errorf("%s: seeds 1 and 2 drew the same: %v", name, a)
		}
	}
}

func TestNoAllocationEverything(t *testing.T) {
	logits := make([]float32, 32000)
	r := rand.New(rand.NewPCG(15, 16))
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	for name, s := range map[string]*Sampler{
		"everything":  everything(1),
		"mirostat":    New(mirostatParams(1)),
		"mirostat v2": New(mirostatParams(2)),
		"greedy with penalties and DRY": New(with(custom(), func(p *Params) {
			p.Temp, p.Mirostat, p.DynatempRange, p.DRYPenaltyLastN = 0, 0, 0, -1
		})),
	} {
		for i := range 300 { // a repetitive history, so that DRY has work
			s.Accept(int32(i % 7))
		}
		for range 3 {
			s.Accept(s.Sample(logits)) // grow the scratch buffers
		}
		if n := testing.AllocsPerRun(20, func() { s.Accept(s.Sample(logits)) }); n != 0 {
			t.Errorf("%s: %v allocations per token", name, n)
		}
	}
}

func FuzzSet(f *testing.F) {
	for _, s := range custom().Settings() {
		f.Add(s.Name, s.Value)
	}
	f.Add("logit-bias", "1+1,2-inf,3+")
	f.Add("dry-sequence-breakers", `"a" "b",`)
	f.Add("seed", "18446744073709551615")
	f.Fuzz(func(t *testing.T, name, value string) {
		p := DefaultParams()
		if err := p.Set(name, value); err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Set(%q, %q) accepted params Validate rejects: %v", name, value, err)
		}
		// What Settings prints reads back as the same.
		for _, s := range p.Settings() {
			q := DefaultParams()
			if err := q.Set(s.Name, s.Value); err != nil {
				t.Fatalf("Set(%q, %q) from Settings: %v", s.Name, s.Value, err)
			}
			if v, _ := q.Get(s.Name); v != s.Value {
				t.Fatalf("%s: %q read back as %q", s.Name, s.Value, v)
			}
		}
	})
}
