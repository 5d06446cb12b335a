package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// plain returns Params that sample at temperature temp with every filter off.
func plain(temp float32) Params {
	p := DefaultParams()
	p.Temp, p.TopK, p.TopP, p.MinP = temp, 0, 1, 0
	return p
}

// with returns p changed by set.
func with(p Params, set func(*Params)) Params {
	set(&p)
	return p
}

func logs(ps ...float64) []float32 {
	out := make([]float32, len(ps))
	for i, p := range ps {
		out[i] = float32(math.Log(p))
	}
	return out
}

func TestGreedy(t *testing.T) {
	tests := []struct {
		name   string
		p      Params
		accept []int32
		logits []float32
		want   int32
	}{
		{"max", Params{}, nil, []float32{0, 2, 1}, 1},
		{"tie lowest id", Params{}, nil, []float32{1, 3, 3, 2}, 1},
		{"tie at start", Params{Temp: -1}, nil, []float32{5, 5, 5}, 0},
		{"negative", Params{}, nil, []float32{-3, -1, -2}, 1},
		{"all -inf", Params{}, nil, []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, 0},
		{"filters ignored", Params{TopK: 1, TopP: 0.1, MinP: 0.9}, nil, []float32{0, 1, 4, 2}, 2},
		// 4/2 = 2 < 3: the penalty moves the argmax.
		{"penalty positive", Params{RepeatPenalty: 2, RepeatLastN: 4}, []int32{2}, []float32{0, 3, 4, 2}, 1},
		// Negative logits are multiplied: -1*2 = -2 < -1.5.
		{"penalty negative", Params{RepeatPenalty: 2, RepeatLastN: 4}, []int32{0}, []float32{-1, -1.5, -3}, 1},
		// Applied once per distinct token, however often it was seen.
		{"penalty once", Params{RepeatPenalty: 2, RepeatLastN: 4}, []int32{1, 1, 1}, []float32{1.5, 4}, 1},
		// The window holds 2 ids: 1 has left it again.
		{"penalty window", Params{RepeatPenalty: 2, RepeatLastN: 2}, []int32{1, 0, 0}, []float32{1.5, 2}, 1},
		{"penalty off at 1", Params{RepeatPenalty: 1, RepeatLastN: 4}, []int32{1}, []float32{0, 3, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.p)
			for _, id := range tt.accept {
				s.Accept(id)
			}
			if got := s.Sample(tt.logits); got != tt.want {
				t.Errorf("Sample(%v) = %d, want %d", tt.logits, got, tt.want)
			}
		})
	}
}

func TestEmptyLogits(t *testing.T) {
	if got := New(DefaultParams()).Sample(nil); got != -1 {
		t.Errorf("Sample(nil) = %d, want -1", got)
	}
}

func TestTopKOneIsGreedy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 1000)
	for trial := range 50 {
		for i := range logits {
			logits[i] = float32(r.NormFloat64() * 3)
		}
		if trial%5 == 0 {
			logits[7] = logits[argmax(logits)] // a tie: the lower id must win
		}
		want := New(Params{}).Sample(logits)
		p := DefaultParams()
		p.TopK, p.Temp, p.Seed = 1, 1.5, uint64(trial)
		if got := New(p).Sample(logits); got != want {
			t.Fatalf("trial %d: top-k=1 sampled %d, greedy %d", trial, got, want)
		}
	}
}

func TestSelectTop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 5, 40, 99, 100} {
		cands := make([]candidate, 100)
		for i := range cands {
			// Few distinct values, so ties are common.
			cands[i] = candidate{id: int32(i), logit: float32(r.IntN(10))}
		}
		want := append([]candidate(nil), cands...)
		sortCandidates(want)
		selectTop(cands, k)
		for i := range k {
			if cands[i] != want[i] {
				t.Fatalf("k=%d: position %d = %+v, want %+v", k, i, cands[i], want[i])
			}
		}
	}
}

func sortCandidates(c []candidate) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && better(c[j], c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

func sortedCands(logits []float32) []candidate {
	c := make([]candidate, len(logits))
	for i, l := range logits {
		c[i] = candidate{id: int32(i), logit: l}
	}
	sortCandidates(c)
	return c
}

func TestTopP(t *testing.T) {
	probs := logs(0.5, 0.3, 0.15, 0.05)
	tests := []struct {
		p    float32
		want int
	}{
		{0.01, 1},
		{0.5, 1},
		{0.51, 2},
		{0.75, 2},
		{0.81, 3},
		{0.94, 3},
		{0.96, 4},
		{0.9999, 4},
	}
	for _, tt := range tests {
		if got := len(topP(sortedCands(probs), tt.p, true)); got != tt.want {
			t.Errorf("top-p %v kept %d tokens, want %d", tt.p, got, tt.want)
		}
		unsorted := make([]candidate, len(probs))
		for i := range probs {
			j := (i + 2) % len(probs) // ids 2, 3, 0, 1
			unsorted[i] = candidate{id: int32(j), logit: probs[j]}
		}
		if got := topP(unsorted, tt.p, false); !sameIDs(got, []int32{0, 1, 2, 3}[:tt.want], false) {
			t.Errorf("top-p %v unsorted kept %v, want the first %d", tt.p, ids(got), tt.want)
		}
	}
	// Past the 256 tokens sorted first: a flat distribution over 1000 tokens.
	flat := make([]candidate, 1000)
	for i := range flat {
		flat[i] = candidate{id: int32(999 - i), logit: float32(i%7) * 1e-3}
	}
	got := topP(flat, 0.9, false)
	if len(got) < 850 || len(got) > 950 {
		t.Fatalf("top-p 0.9 of a near-flat 1000 kept %d", len(got))
	}
	for i := 1; i < len(got); i++ {
		if better(got[i], got[i-1]) {
			t.Fatalf("top-p result not sorted at %d: %+v before %+v", i, got[i-1], got[i])
		}
	}
}

func TestMinP(t *testing.T) {
	// Unsorted on purpose: ids 0..3 have probabilities 0.05, 0.5, 0.15, 0.3.
	logits := logs(0.05, 0.5, 0.15, 0.3)
	tests := []struct {
		p    float32
		want []int32 // kept ids, best first in the sorted case
	}{
		{0.09, []int32{1, 3, 2, 0}},
		{0.2, []int32{1, 3, 2}},
		{0.31, []int32{1, 3}},
		{0.7, []int32{1}},
		{1, []int32{1}},
	}
	for _, tt := range tests {
		sorted := minP(sortedCands(logits), tt.p, true)
		if !sameIDs(sorted, tt.want, false) {
			t.Errorf("min-p %v sorted kept %v, want %v", tt.p, ids(sorted), tt.want)
		}
		unsorted := make([]candidate, len(logits))
		for i, l := range logits {
			unsorted[i] = candidate{id: int32(i), logit: l}
		}
		if got := minP(unsorted, tt.p, false); !sameIDs(got, tt.want, true) {
			t.Errorf("min-p %v unsorted kept %v, want %v", tt.p, ids(got), tt.want)
		}
	}
}

func ids(c []candidate) []int32 {
	out := make([]int32, len(c))
	for i := range c {
		out[i] = c[i].id
	}
	return out
}

func sameIDs(c []candidate, want []int32, anyOrder bool) bool {
	if len(c) != len(want) {
		return false
	}
	set := map[int32]bool{}
	for _, id := range want {
		set[id] = true
	}
	for i := range c {
		if anyOrder && !set[c[i].id] || !anyOrder && c[i].id != want[i] {
			return false
		}
	}
	return true
}

// TestDistribution checks that draws follow the softmax of the filtered,
// temperature-scaled logits, with a chi-square test. The seed is fixed, so
// the test is deterministic; the bound is the 0.1% quantile, so a correct
// sampler passes for almost every seed.
func TestDistribution(t *testing.T) {
	logits := []float32{2, 1.5, 1, 0.2, 0, -0.5, -1, -3}
	tests := []struct {
		name string
		p    Params
		keep int // how many of the best tokens survive the filters
	}{
		{"temp only", plain(0.7), 8},
		{"temp 1", plain(1), 8},
		{"hot", plain(2.5), 8},
		{"top-k 3", with(plain(0.9), func(p *Params) { p.TopK = 3 }), 3},
		// softmax(logits): 0.379 0.230 0.139 0.063 0.051 0.031 0.019 0.003
		{"top-p 0.7", with(plain(1.2), func(p *Params) { p.TopP = 0.7 }), 3},
		// llama.cpp's top-p 0 keeps the most likely token only.
		{"top-p 0", with(plain(1.2), func(p *Params) { p.TopP = 0 }), 1},
		// keep p >= 0.1 * 0.379: the first five
		{"min-p 0.1", with(plain(1), func(p *Params) { p.MinP = 0.1 }), 5},
		{"defaults", DefaultParams(), 6},
	}
	// chi-square 0.999 quantiles for 1..7 degrees of freedom
	crit := []float64{0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32}
	const draws = 100000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Seed = 42
			s := New(tt.p)
			counts := make([]int, len(logits))
			for range draws {
				counts[s.Sample(logits)]++
			}
			// Expected: softmax over the kept tokens at the temperature.
			want := make([]float64, len(logits))
			var sum float64
			for i := range tt.keep {
				want[i] = math.Exp(float64(logits[i]) / float64(tt.p.Temp))
				sum += want[i]
			}
			var chi2 float64
			for i := range logits {
				if i >= tt.keep {
					if counts[i] != 0 {
						t.Fatalf("token %d drawn %d times, but the filters drop it", i, counts[i])
					}
					continue
				}
				e := want[i] / sum * draws
				chi2 += (float64(counts[i]) - e) * (float64(counts[i]) - e) / e
			}
			if dof := tt.keep - 1; dof > 0 && chi2 > crit[dof] {
				t.Errorf("chi-square %.2f > %.2f (dof %d): counts %v", chi2, crit[dof], dof, counts)
			}
		})
	}
}

func TestDeterministicSeed(t *testing.T) {
	logits := make([]float32, 500)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	run := func(seed uint64) []int32 {
		p := with(plain(1.5), func(p *Params) { p.MinP, p.Seed = 0.01, seed })
		s := New(p)
		out := make([]int32, 64)
		for i := range out {
			out[i] = s.Sample(logits)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	same := func(x, y []int32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Errorf("same seed, different draws:\n%v\n%v", a, b)
	}
	if same(a, c) {
		t.Errorf("seeds 1 and 2 drew the same 64 tokens: %v", a)
	}

	s := New(with(plain(1.5), func(p *Params) { p.MinP, p.Seed, p.RepeatPenalty, p.RepeatLastN = 0.01, 1, 1.3, 8 }))
	first := make([]int32, 16)
	for i := range first {
		first[i] = s.Sample(logits)
		s.Accept(first[i])
	}
	s.Reset()
	for i := range first {
		got := s.Sample(logits)
		s.Accept(got)
		if got != first[i] {
			t.Fatalf("after Reset, draw %d = %d, want %d", i, got, first[i])
		}
	}
}

func TestNoAllocation(t *testing.T) {
	logits := make([]float32, 32000)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	for _, p := range []Params{{}, DefaultParams(), {Temp: 1, TopP: 0.9, RepeatPenalty: 1.1, RepeatLastN: 64}} {
		s := New(p)
		for i := range 100 {
			s.Accept(int32(i))
		}
		s.Sample(logits) // grow the scratch buffers
		if n := testing.AllocsPerRun(20, func() { s.Accept(s.Sample(logits)) }); n != 0 {
			t.Errorf("%+v: %v allocations per token", p, n)
		}
	}
}

func benchmarkSample(b *testing.B, p Params) {
	logits := make([]float32, 32000)
	r := rand.New(rand.NewPCG(9, 10))
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	s := New(p)
	b.ReportAllocs()
	for b.Loop() {
		s.Accept(s.Sample(logits))
	}
}

func BenchmarkSampleGreedy32k(b *testing.B)   { benchmarkSample(b, Params{}) }
func BenchmarkSampleDefaults32k(b *testing.B) { benchmarkSample(b, DefaultParams()) }
func BenchmarkSampleTopP32k(b *testing.B) {
	benchmarkSample(b, with(plain(0.8), func(p *Params) { p.TopP, p.RepeatPenalty = 0.95, 1.1 }))
}
