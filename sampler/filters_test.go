package sampler

import (
	"math"
	"slices"
	"testing"
)

// idCands returns logits as candidates in id order (unsorted).
func idCands(logits []float32) []candidate {
	c := make([]candidate, len(logits))
	for i, l := range logits {
		c[i] = candidate{id: int32(i), logit: l}
	}
	return c
}

func sortedIDs(c []candidate) []int32 {
	out := ids(c)
	slices.Sort(out)
	return out
}

func TestTopPZeroKeepsOne(t *testing.T) {
	logits := logs(0.2, 0.5, 0.3)
	if got := ids(topP(idCands(logits), 0, false)); !slices.Equal(got, []int32{1}) {
		t.Errorf("top-p 0 kept %v, want [1]", got)
	}
	if got := ids(topP(sortedCands(logits), 0, true)); !slices.Equal(got, []int32{1}) {
		t.Errorf("top-p 0 (sorted) kept %v, want [1]", got)
	}
}

func TestTypical(t *testing.T) {
	// p = 0.5 0.3 0.15 0.05: entropy H = 1.1422 nats; surprises -ln p =
	// 0.693 1.204 1.897 2.996, so |surprise - H| = 0.449 0.062 0.755 1.854:
	// ranked 1, 0, 2, 3 with cumulative mass 0.3, 0.8, 0.95, 1.
	logits := logs(0.5, 0.3, 0.15, 0.05)
	tests := []struct {
		p    float32
		want []int32 // in rank order
	}{
		{0, []int32{1}},
		{0.2, []int32{1}},
		{0.5, []int32{1, 0}},
		{0.79, []int32{1, 0}},
		{0.81, []int32{1, 0, 2}},
		{0.94, []int32{1, 0, 2}},
		{0.96, []int32{1, 0, 2, 3}},
	}
	for _, tt := range tests {
		if got := ids(typical(idCands(logits), tt.p)); !slices.Equal(got, tt.want) {
			t.Errorf("typical %v kept %v, want %v", tt.p, got, tt.want)
		}
	}
	// A banned token has probability 0: ranked last, never kept before the rest.
	banned := append(logs(0.5, 0.3, 0.2), float32(math.Inf(-1)))
	if got := typical(idCands(banned), 0.999); !slices.Equal(sortedIDs(got), []int32{0, 1, 2}) {
		t.Errorf("typical with a -inf token kept %v, want 0, 1, 2", ids(got))
	}
}

func TestXTC(t *testing.T) {
	// p = 0.4 0.3 0.2 0.06 0.04 in a shuffled id order.
	probs := []float64{0.06, 0.3, 0.04, 0.4, 0.2}
	logits := logs(probs...)
	tests := []struct {
		threshold float32
		want      []int32 // kept ids
	}{
		{0.5, []int32{0, 1, 2, 3, 4}},  // nobody reaches it
		{0.35, []int32{0, 1, 2, 3, 4}}, // one token reaches it: nothing to exclude
		{0.25, []int32{0, 1, 2, 4}},    // 0.4 and 0.3 reach it: 0.4 goes
		{0.1, []int32{0, 2, 4}},        // 0.4, 0.3, 0.2: only 0.2 stays
		{0.05, []int32{0, 2}},          // down to 0.06
		{0, []int32{2}},                // everything reaches 0: only the least likely stays
	}
	for _, tt := range tests {
		s := New(Params{XTCProbability: 1, XTCThreshold: tt.threshold})
		if got := sortedIDs(s.applyXTC(idCands(logits), false)); !slices.Equal(got, tt.want) {
			t.Errorf("xtc threshold %v (unsorted) kept %v, want %v", tt.threshold, got, tt.want)
		}
		got := s.applyXTC(sortedCands(logits), true)
		if !slices.Equal(sortedIDs(got), tt.want) {
			t.Errorf("xtc threshold %v (sorted) kept %v, want %v", tt.threshold, ids(got), tt.want)
		}
		for i := 1; i < len(got); i++ {
			if better(got[i], got[i-1]) {
				t.Errorf("xtc threshold %v: sorted input came back unsorted: %v", tt.threshold, ids(got))
			}
		}
	}
}

// TestXTCProbability checks the draws when XTC runs on a fraction q of the
// tokens: p = 0.6 0.3 0.1 with threshold 0.25 becomes 0 0.75 0.25 when it
// runs, so P = (1-q)*(0.6, 0.3, 0.1) + q*(0, 0.75, 0.25).
func TestXTCProbability(t *testing.T) {
	logits := logs(0.6, 0.3, 0.1)
	for _, q := range []float32{0, 0.3, 1} {
		p := plain(1)
		p.XTCProbability, p.XTCThreshold, p.Seed = q, 0.25, 11
		qq := float64(q)
		want := []float64{(1 - qq) * 0.6, (1-qq)*0.3 + qq*0.75, (1-qq)*0.1 + qq*0.25}
		chiSquare(t, "xtc", New(p), logits, want)
	}
}

// chiSquare draws from s and checks the counts against the probabilities
// want (0 = never drawn) at the 0.1% level; the seed is fixed, so the test is
// deterministic.
func chiSquare(t *testing.T, name string, s *Sampler, logits []float32, want []float64) {
	t.Helper()
	const draws = 100000
	crit := []float64{0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32}
	counts := make([]int, len(logits))
	for range draws {
		counts[s.Sample(logits)]++
	}
	var chi2 float64
	dof := -1
	for i := range logits {
		if want[i] == 0 {
			if counts[i] != 0 {
				t.Errorf("%s: token %d drawn %d times, want never", name, i, counts[i])
			}
			continue
		}
		dof++
		e := want[i] * draws
		chi2 += (float64(counts[i]) - e) * (float64(counts[i]) - e) / e
	}
	if dof > 0 && chi2 > crit[dof] {
		t.Errorf("%s: chi-square %.2f > %.2f (dof %d): counts %v, want %v", name, chi2, crit[dof], dof, counts, want)
	}
}

func TestTopKTies(t *testing.T) {
	// Four tokens tie for first place; top-k 2 keeps the two lowest ids,
	// which are then equally likely.
	logits := []float32{1, 3, 3, 3, 3, 0}
	p := plain(1)
	p.TopK, p.Seed = 2, 3
	chiSquare(t, "top-k 2 of a four-way tie", New(p), logits, []float64{0, 0.5, 0.5, 0, 0, 0})
}

func TestDynamicTemp(t *testing.T) {
	// Normalised entropy of p = (0.9, 0.1): (0.9 ln(1/0.9) + 0.1 ln 10) / ln 2 = 0.46900.
	peaked := logs(0.9, 0.1)
	const ne = 0.46900
	tests := []struct {
		name                   string
		logits                 []float32
		temp, spread, exponent float32
		want                   float32
	}{
		{"uniform is the top", logs(0.25, 0.25, 0.25, 0.25), 1, 0.5, 1, 1.5},
		{"linear", peaked, 1, 0.5, 1, 0.5 + ne},
		{"squared", peaked, 1, 0.5, 2, 0.5 + ne*ne},
		{"exponent 0 is the top", peaked, 1, 0.5, 0, 1.5},
		{"bottom clamps at 0", peaked, 0.2, 0.5, 1, 0.7 * ne},
		{"single token untouched", []float32{3}, 1, 0.5, 1, 1},
	}
	for _, tt := range tests {
		got := dynamicTemp(idCands(tt.logits), tt.temp, tt.spread, tt.exponent)
		if math.Abs(float64(got-tt.want)) > 1e-4 {
			t.Errorf("%s: temperature %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDynamicTempDraws checks that the draw uses the dynamic temperature,
// including from temp 0, which dynamic temperature lifts above greedy.
func TestDynamicTempDraws(t *testing.T) {
	logits := logs(0.9, 0.1)
	const ne = 0.46900
	for _, base := range []float32{1, 0} {
		p := plain(base)
		p.DynatempRange, p.DynatempExponent, p.Seed = 0.5, 1, 5
		temp := float64(max(0, base-0.5)) + float64(base+0.5-max(0, base-0.5))*ne
		// p_i^(1/T), normalised.
		a, b := math.Pow(0.9, 1/temp), math.Pow(0.1, 1/temp)
		chiSquare(t, "dynatemp", New(p), logits, []float64{a / (a + b), b / (a + b)})
	}
}

func TestLogitBias(t *testing.T) {
	inf := float32(math.Inf(1))
	logits := []float32{1, 4, 3, 0}
	tests := []struct {
		name string
		bias []LogitBias
		want int32
	}{
		{"none", nil, 1},
		{"ban the best", []LogitBias{{1, -inf}}, 2},
		{"raise a low one", []LogitBias{{3, 4.5}}, 3},
		{"biases add up", []LogitBias{{0, 2}, {0, 1.5}}, 0},
		{"outside the vocabulary", []LogitBias{{99, 10}}, 1},
	}
	for _, tt := range tests {
		if got := New(Params{LogitBias: tt.bias}).Sample(logits); got != tt.want {
			t.Errorf("%s: greedy picked %d, want %d", tt.name, got, tt.want)
		}
	}
	p := plain(1)
	p.LogitBias, p.Seed = []LogitBias{{1, -inf}}, 9
	// softmax(1, 3, 0) without token 1
	e := []float64{math.E, 0, math.Exp(3), 1}
	sum := e[0] + e[2] + e[3]
	chiSquare(t, "banned token", New(p), logits, []float64{e[0] / sum, 0, e[2] / sum, e[3] / sum})
}
