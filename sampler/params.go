// Package sampler picks the next token from a row of logits the way
// llama.cpp's sampler chain does (common/sampling.cpp and
// src/llama-sampling.cpp at c392e509), with llama.cpp's order and llama.cpp's
// meaning for every parameter value:
//
//	logits -> logit-bias -> penalties -> dry -> top-k -> typical -> top-p
//	       -> min-p -> xtc -> temp-ext -> dist
//
// or, with Mirostat on, logits -> logit-bias -> temp -> mirostat (v1 or v2),
// which (as in llama.cpp) skips the penalties, DRY and every truncation
// filter. A temperature <= 0 (that dynamic temperature cannot raise) picks
// the most likely token after the logit bias, penalties and DRY (greedy; the
// lowest id wins ties) and skips the truncation filters.
//
// Draws come from a seeded PCG generator, so a seed reproduces a run exactly
// (though not llama.cpp's own draws, which use mt19937). Sampling a token does
// not allocate once the Sampler's buffers have grown to the vocabulary size
// (and, for a -1 window, to the history), and greedy sampling without
// penalties does not even copy the logits.
//
// Params holds the settings; Validate checks them, Set and Settings read and
// write them by llama.cpp's flag names (for a REPL's /set and /show), and
// Chain describes the chain they make.
package sampler

import (
	"errors"
	"math"
)

// Params configures a Sampler. Each field has llama.cpp's meaning for every
// value; DefaultParams returns llama.cpp's defaults. Note that the zero value
// is not "every filter off": TopP 0 and TypicalP 0 keep a single token, as
// llama.cpp's --top-p 0 and --typical 0 do, so start from DefaultParams (the
// zero Params samples greedily, since its Temp is 0).
type Params struct {
	// LogitBias is added to the logits of the listed tokens before anything
	// else; a bias of -Inf bans the token. Repeated tokens add up.
	LogitBias []LogitBias

	// RepeatPenalty divides positive logits (multiplies negative ones) of
	// tokens seen in the last RepeatLastN accepted tokens, once per distinct
	// token; 1 is off, and so is 0, the zero value (llama.cpp would divide
	// by it). Validate rejects negative values.
	RepeatPenalty float32
	// RepeatLastN is the window of the repetition, frequency and presence
	// penalties: 0 is off, -1 every accepted token (llama.cpp's "context
	// size": WithContext resolves it to a context length).
	RepeatLastN int
	// FrequencyPenalty is subtracted from a token's logit once per
	// occurrence in the window; 0 is off.
	FrequencyPenalty float32
	// PresencePenalty is subtracted once from the logit of every token in
	// the window; 0 is off.
	PresencePenalty float32

	// DRYMultiplier switches on DRY ("don't repeat yourself"): a token that
	// would extend a sequence already seen in the last DRYPenaltyLastN tokens
	// loses DRYMultiplier * DRYBase^(length - DRYAllowedLength), where length
	// is the length of the repeated sequence it extends, if length >=
	// DRYAllowedLength. 0 is off.
	DRYMultiplier float32
	// DRYBase is the base of DRY's exponential penalty; values below 1
	// switch DRY off.
	DRYBase float32
	// DRYAllowedLength is the longest repetition DRY leaves unpenalised.
	DRYAllowedLength int
	// DRYPenaltyLastN is DRY's window: 0 is off, -1 every accepted token
	// (resolved like RepeatLastN by WithContext).
	DRYPenaltyLastN int
	// DRYSequenceBreakers are strings that end a repetition for DRY: no
	// repeated sequence is followed past a token containing one. They need
	// the token texts given to NewWithVocab; New ignores them. Breakers
	// longer than 40 bytes are cut to 40 and empty ones skipped, as in
	// llama.cpp.
	DRYSequenceBreakers []string

	// TopK keeps the TopK highest logits; <= 0 keeps all.
	TopK int
	// TypicalP keeps the locally typical tokens: those whose surprise is
	// closest to the distribution's entropy, up to a probability mass above
	// TypicalP (at least one token). 1 is off; 0 keeps one token.
	TypicalP float32
	// TopP keeps the smallest set of most likely tokens whose probabilities
	// sum to at least TopP (at least one token). 1 is off; 0 keeps the most
	// likely token only.
	TopP float32
	// MinP drops tokens whose probability is below MinP times that of the
	// most likely token; 0 is off.
	MinP float32
	// XTCProbability is the chance, per token, that XTC ("exclude top
	// choices") runs: it then removes every token whose probability is at
	// least XTCThreshold except the least likely of them. 0 is off.
	XTCProbability float32
	// XTCThreshold is XTC's probability threshold; above 0.5 XTC is off
	// (two tokens cannot both reach it).
	XTCThreshold float32

	// Temp divides the logits before the draw. Temp <= 0 selects the
	// highest logit after the bias, penalties and DRY (greedy; the lowest id
	// wins ties).
	Temp float32
	// DynatempRange switches on dynamic temperature: the temperature moves
	// within [max(0, Temp-DynatempRange), Temp+DynatempRange] with the
	// normalised entropy of the candidates. 0 is off.
	DynatempRange float32
	// DynatempExponent shapes the dynamic temperature: temperature = min +
	// (max-min) * normalisedEntropy^DynatempExponent.
	DynatempExponent float32

	// Mirostat selects Mirostat sampling instead of top-k ... temperature:
	// 0 off, 1 Mirostat, 2 Mirostat 2.0.
	Mirostat int
	// MirostatTau is Mirostat's target surprise (entropy) in bits; --mirostat-ent.
	MirostatTau float32
	// MirostatEta is Mirostat's learning rate; --mirostat-lr.
	MirostatEta float32

	// Seed seeds the PCG generators used for draws and XTC.
	Seed uint64
}

// LogitBias is one -l/--logit-bias entry: Bias is added to token Token's logit.
type LogitBias struct {
	Token int32
	Bias  float32
}

// DefaultDRYSequenceBreakers returns llama.cpp's default DRY sequence
// breakers: newline, colon, double quote and asterisk.
func DefaultDRYSequenceBreakers() []string { return []string{"\n", ":", "\"", "*"} }

// DefaultParams returns llama.cpp's default sampling parameters: temp 0.8,
// top_k 40, top_p 0.95, min_p 0.05, typical_p 1, repeat_penalty 1,
// repeat_last_n 64, no frequency or presence penalty, DRY off (base 1.75,
// allowed length 2, last_n -1, the default breakers), XTC off (threshold
// 0.1), no dynamic temperature (exponent 1), Mirostat off (tau 5, eta 0.1).
// The seed is 0; llama.cpp's default is a random one, which the command
// line's --seed -1 draws.
func DefaultParams() Params {
	return Params{
		RepeatPenalty:       1,
		RepeatLastN:         64,
		DRYBase:             1.75,
		DRYAllowedLength:    2,
		DRYPenaltyLastN:     -1,
		DRYSequenceBreakers: DefaultDRYSequenceBreakers(),
		TopK:                40,
		TypicalP:            1,
		TopP:                0.95,
		MinP:                0.05,
		XTCThreshold:        0.1,
		Temp:                0.8,
		DynatempExponent:    1,
		MirostatTau:         5,
		MirostatEta:         0.1,
	}
}

// WithContext returns p with llama.cpp's "-1 = context size" windows
// (RepeatLastN and DRYPenaltyLastN) set to contextLength, as llama.cpp does
// once it knows the context. (Left at -1, a window covers every token
// accepted since New or Reset.)
func (p Params) WithContext(contextLength int) Params {
	if p.RepeatLastN == -1 {
		p.RepeatLastN = contextLength
	}
	if p.DRYPenaltyLastN == -1 {
		p.DRYPenaltyLastN = contextLength
	}
	return p
}

// Validate reports every value outside its range, one error per parameter,
// for DefaultParams as for the zero Params (plain greedy decoding),
// naming it with llama.cpp's flag name and saying what it wants (for
// example "temp NaN: want a number >= 0 (0 = greedy)"). NaN and infinities
// are rejected everywhere except a logit bias of -Inf, which bans a token.
func (p Params) Validate() error {
	var errs []error
	for i := range paramTable {
		if paramTable[i].check == nil {
			continue
		}
		if err := paramTable[i].check(&p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// repeatPenalty is the repetition penalty New applies: 0 (the zero value),
// negative and infinite values mean off.
func (p *Params) repeatPenalty() float32 {
	if p.RepeatPenalty > 0 && !math.IsInf(float64(p.RepeatPenalty), 0) {
		return p.RepeatPenalty
	}
	return 1
}

// penaltiesOn says whether llama.cpp's penalties sampler changes anything.
func (p *Params) penaltiesOn() bool {
	return p.Mirostat == 0 && (p.RepeatLastN > 0 || p.RepeatLastN == -1) &&
		(p.repeatPenalty() != 1 || p.FrequencyPenalty != 0 || p.PresencePenalty != 0)
}

// dryOn says whether llama.cpp's DRY sampler changes anything.
func (p *Params) dryOn() bool {
	return p.Mirostat == 0 && p.DRYMultiplier != 0 && p.DRYBase >= 1 &&
		(p.DRYPenaltyLastN > 0 || p.DRYPenaltyLastN == -1)
}

// xtcOn says whether XTC can remove tokens.
func (p *Params) xtcOn() bool {
	return p.XTCProbability > 0 && p.XTCThreshold <= 0.5
}

// dynatempOn says whether the temperature is dynamic.
func (p *Params) dynatempOn() bool { return p.DynatempRange > 0 }

// greedy says whether the temperature step always keeps only the best
// token: a temperature <= 0 that dynamic temperature cannot raise.
func (p *Params) greedy() bool {
	if p.Mirostat != 0 || !p.dynatempOn() {
		return p.Temp <= 0
	}
	return p.Temp+p.DynatempRange <= 0
}
