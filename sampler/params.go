// Package sampler picks the next token from a row of logits the way
// llama.cpp's default sampler chain does: repetition penalty, top-k, top-p,
// min-p, temperature, then a draw from the softmax. Draws come from a seeded
// PCG generator, so a seed reproduces a run exactly (though not llama.cpp's
// own draws, which use mt19937).
package sampler

// Params configures a Sampler. The zero value of each filter switches that
// filter off; DefaultParams returns llama.cpp's defaults.
type Params struct {
	// Temp divides the logits before the draw. Temp <= 0 selects the
	// highest logit (greedy; the lowest id wins ties) after the penalty.
	Temp float32
	// TopK keeps the TopK highest logits; <= 0 keeps all.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probabilities
	// sum to at least TopP; <= 0 or >= 1 keeps all.
	TopP float32
	// MinP drops tokens whose probability is below MinP times that of the
	// most likely token; <= 0 keeps all.
	MinP float32
	// RepeatPenalty divides positive logits (multiplies negative ones) of
	// tokens seen in the last RepeatLastN accepted tokens, once per distinct
	// token; 1 or <= 0 switches it off.
	RepeatPenalty float32
	// RepeatLastN is the length of the penalty window; <= 0 switches the
	// penalty off. (llama.cpp's -1, "the whole context", is resolved by the
	// caller, which knows the context length.)
	RepeatLastN int
	// Seed seeds the PCG generator used for draws.
	Seed uint64
}

// DefaultParams returns llama.cpp's default sampling parameters (temp 0.8,
// top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1.0, repeat_last_n 64)
// with seed 0.
func DefaultParams() Params {
	return Params{
		Temp:          0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1.0,
		RepeatLastN:   64,
	}
}

func (p Params) penaltyOn() bool {
	return p.RepeatLastN > 0 && p.RepeatPenalty > 0 && p.RepeatPenalty != 1
}
