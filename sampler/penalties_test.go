package sampler

import (
	"math"
	"testing"
)

// penalised returns logits after s's penalties and DRY, having accepted history.
func penalised(s *Sampler, history []int32, logits []float32) []float32 {
	for _, id := range history {
		s.Accept(id)
	}
	cands := s.load(logits)
	s.applyLogitBias(cands)
	s.applyPenalties(cands)
	s.applyDRY(cands)
	out := make([]float32, len(cands))
	for i, c := range cands {
		out[i] = c.logit
	}
	return out
}

func near(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			return false
		}
	}
	return true
}

func TestPenalties(t *testing.T) {
	logits := []float32{1, 4, -2, 3}
	history := []int32{3, 1, 2, 1, 1} // in the last 4: 1 three times, 2 once
	tests := []struct {
		name string
		p    Params
		want []float32
	}{
		// Repeat: once per distinct token, dividing positive and multiplying
		// negative logits; 3 has left the window of 4.
		{"repeat", Params{RepeatPenalty: 2, RepeatLastN: 4}, []float32{1, 2, -4, 3}},
		// Frequency: per occurrence.
		{"frequency", Params{FrequencyPenalty: 0.5, RepeatLastN: 4}, []float32{1, 4 - 1.5, -2.5, 3}},
		// Presence: once.
		{"presence", Params{PresencePenalty: 0.25, RepeatLastN: 4}, []float32{1, 3.75, -2.25, 3}},
		// All three: repeat first, then frequency and presence.
		{"all", Params{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 0.25, RepeatLastN: 4},
			[]float32{1, 2 - 1.5 - 0.25, -4 - 0.5 - 0.25, 3}},
		{"window 1", Params{RepeatPenalty: 2, FrequencyPenalty: 0.5, RepeatLastN: 1}, []float32{1, 2 - 0.5, -2, 3}},
		// -1: every accepted token, so 3 too.
		{"whole history", Params{PresencePenalty: 1, RepeatLastN: -1}, []float32{1, 3, -3, 2}},
		{"window 0 is off", Params{RepeatPenalty: 2, PresencePenalty: 1, RepeatLastN: 0}, logits},
		{"all at their off values", Params{RepeatPenalty: 1, RepeatLastN: 64}, logits},
		{"repeat 0 means off", Params{RepeatLastN: 64}, logits},
		{"off under mirostat", Params{RepeatPenalty: 2, RepeatLastN: 4, Mirostat: 2}, logits},
	}
	for _, tt := range tests {
		if got := penalised(New(tt.p), history, logits); !near(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWithContext(t *testing.T) {
	p := DefaultParams()
	p.RepeatLastN = -1
	got := p.WithContext(4096)
	if got.RepeatLastN != 4096 || got.DRYPenaltyLastN != 4096 {
		t.Errorf("WithContext(4096): repeat-last-n %d, dry-penalty-last-n %d", got.RepeatLastN, got.DRYPenaltyLastN)
	}
	p.RepeatLastN, p.DRYPenaltyLastN = 64, 0
	if got := p.WithContext(4096); got.RepeatLastN != 64 || got.DRYPenaltyLastN != 0 {
		t.Errorf("WithContext changed explicit windows: %d, %d", got.RepeatLastN, got.DRYPenaltyLastN)
	}
}

// Token texts for the DRY tests: single letters, a colon, and a pair of
// tokens that spell a two-token breaker "ab".
var dryPieces = []string{"p", "q", "r", "s", ":", "xa", "b", "t"}

const (
	tp, tq, tr, ts, tColon, tXA, tB, tt = 0, 1, 2, 3, 4, 5, 6, 7
)

func dryParams(breakers ...string) Params {
	return Params{DRYMultiplier: 0.5, DRYBase: 2, DRYAllowedLength: 2, DRYPenaltyLastN: -1, DRYSequenceBreakers: breakers}
}

func newDRY(p Params) *Sampler {
	return NewWithVocab(p, len(dryPieces), func(id int32) string { return dryPieces[id] })
}

func TestDRY(t *testing.T) {
	zero := make([]float32, len(dryPieces))
	// pen returns the logits after a penalty of x on token id.
	pen := func(id int, x float32) []float32 {
		out := make([]float32, len(dryPieces))
		out[id] = -x
		return out
	}
	tests := []struct {
		name    string
		p       Params
		history []int32
		want    []float32
	}{
		// "p q r" repeats the start, where s followed: s would make it 4 long.
		// Penalty 0.5 * 2^(3-2).
		{"length 3", dryParams(), []int32{tp, tq, tr, ts, tp, tq, tr}, pen(ts, 1)},
		{"length 4", dryParams(), []int32{tp, tq, tr, tq, ts, tp, tq, tr, tq}, pen(ts, 2)},
		// Exactly the allowed length: 0.5 * 2^0.
		{"length 2", dryParams(), []int32{tq, tr, ts, tq, tr}, pen(ts, 0.5)},
		{"shorter than allowed", dryParams(), []int32{tr, ts, tr}, zero},
		// Two earlier occurrences: the longer repeat sets the penalty.
		{"longest wins", dryParams(), []int32{tp, tq, tr, ts, tt, tq, tr, ts, tp, tq, tr}, pen(ts, 1)},
		// Tokens that follow different repeats are penalised separately.
		{"two followers", dryParams(), []int32{tq, tr, ts, tq, tr, tt, tq, tr}, func() []float32 {
			out := pen(ts, 0.5)
			out[tt] = -0.5
			return out
		}()},
		{"window too short", with(dryParams(), func(p *Params) { p.DRYPenaltyLastN = 4 }), []int32{tp, tq, tr, ts, tp, tq, tr}, zero},
		{"window long enough", with(dryParams(), func(p *Params) { p.DRYPenaltyLastN = 7 }), []int32{tp, tq, tr, ts, tp, tq, tr}, pen(ts, 1)},
		{"multiplier 0 is off", with(dryParams(), func(p *Params) { p.DRYMultiplier = 0 }), []int32{tp, tq, tr, ts, tp, tq, tr}, zero},
		{"base below 1 is off", with(dryParams(), func(p *Params) { p.DRYBase = 0.9 }), []int32{tp, tq, tr, ts, tp, tq, tr}, zero},

		// A breaker inside the latest tokens stops the repeat there: "q : q"
		// repeats "q :" ... but only 1 token follows the colon.
		{"no breakers", dryParams(), []int32{tq, tColon, tq, tr, tq, tColon, tq}, pen(tr, 1)},
		{"breaker cuts the repeat", dryParams(":"), []int32{tq, tColon, tq, tr, tq, tColon, tq}, zero},
		// A token holding a breaker is never penalised, though it would extend a repeat.
		{"breaker not penalised", dryParams(":"), []int32{tp, tq, tr, tColon, tp, tq, tr}, zero},
		{"same without the breaker", dryParams(), []int32{tp, tq, tr, tColon, tp, tq, tr}, pen(tColon, 1)},
		// "xa" + "b" spell the breaker "ab" across two tokens: the repeat
		// "xa b q" is cut to the 1 token after it, below the allowed 2 ...
		{"two-token breaker", dryParams("ab"), []int32{tXA, tB, tq, tr, ts, tXA, tB, tq}, zero},
		// ... and without it, r would extend a repeat of 3.
		{"two-token breaker off", dryParams(), []int32{tXA, tB, tq, tr, ts, tXA, tB, tq}, pen(tr, 1)},
		// "xa" not followed by "b" breaks nothing.
		{"half a breaker", dryParams("ab"), []int32{tXA, tq, tr, ts, tXA, tq, tr}, pen(ts, 1)},
	}
	for _, tt := range tests {
		if got := penalised(newDRY(tt.p), tt.history, zero); !near(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDRYExponentClamp(t *testing.T) {
	// base 1e10: ln(base) = 23.03, so at most 3 doublings: 1e30 < MaxFloat32.
	p := Params{DRYMultiplier: 1, DRYBase: 1e10, DRYAllowedLength: 0, DRYPenaltyLastN: -1}
	history := make([]int32, 0, 41)
	for range 20 {
		history = append(history, 1, 2)
	}
	history = append(history, 1)
	got := penalised(New(p), history, []float32{0, 0, 0})
	if want := float32(-1e30); math.Abs(float64(got[2]/want-1)) > 1e-6 || got[0] != 0 {
		t.Errorf("penalties %v, want [0 ? %v]", got, want)
	}
}

func TestZFunction(t *testing.T) {
	x := []int32{1, 2, 1, 2, 1, 3, 1, 2}
	want := []int32{8, 0, 3, 0, 1, 0, 2, 0}
	got := zFunction(x, nil)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("z = %v, want %v", got, want)
		}
	}
}
