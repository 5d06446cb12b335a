package sampler

import (
	"math"
	"testing"
)

func mirostatParams(version int) Params {
	p := DefaultParams()
	p.Mirostat, p.Temp, p.Seed = version, 1, 21
	return p
}

func TestMirostatV2(t *testing.T) {
	// p = 0.5 0.3 0.1999 0.0001: surprises 1, 1.74, 2.32, 13.3 bits.
	probs := []float64{0.5, 0.3, 0.1999, 0.0001}
	logits := logs(probs...)
	tests := []struct {
		mu   float32
		keep int // the most likely tokens with surprise <= mu
	}{
		{10, 3},  // 2*tau: the 0.0001 token goes
		{2, 2},   // 0.1999 goes
		{1.5, 1}, // only 0.5
		{0.5, 1}, // none qualifies: the best stays
		{14, 4},
	}
	for _, tt := range tests {
		s := New(mirostatParams(2))
		counts := make([]int, len(probs))
		var mass float64
		for i := range tt.keep {
			mass += probs[i]
		}
		const draws = 2000
		for range draws {
			s.mu = tt.mu
			id := s.Sample(logits)
			counts[id]++
			// mu -= eta * (surprise - tau), the surprise measured after
			// truncation and renormalisation.
			surprise := -math.Log2(probs[id] / mass)
			if want := float64(tt.mu) - 0.1*(surprise-5); math.Abs(float64(s.mu)-want) > 1e-4 {
				t.Fatalf("mu %v: drew %d, mu became %v, want %v", tt.mu, id, s.mu, want)
			}
		}
		for i := tt.keep; i < len(probs); i++ {
			if counts[i] != 0 {
				t.Errorf("mu %v: token %d (surprise %.2f bits) drawn %d times", tt.mu, i, -math.Log2(probs[i]), counts[i])
			}
		}
		if tt.keep > 1 && probs[tt.keep-1] > 0.01 && counts[tt.keep-1] == 0 {
			t.Errorf("mu %v: token %d never drawn in %d: %v", tt.mu, tt.keep-1, draws, counts)
		}
	}
}

func TestMirostatMuStartsAtTwiceTau(t *testing.T) {
	p := mirostatParams(2)
	p.MirostatTau = 3
	s := New(p)
	if s.mu != 6 {
		t.Fatalf("mu after New = %v, want 6", s.mu)
	}
	s.Sample(logs(0.5, 0.5))
	if s.mu == 6 {
		t.Fatal("mu did not move")
	}
	s.Reset()
	if s.mu != 6 {
		t.Errorf("mu after Reset = %v, want 6", s.mu)
	}
}

func TestMirostatGreedy(t *testing.T) {
	// Temp 0 leaves only the best token; its surprise is 0, so mu rises by eta*tau.
	for _, version := range []int{1, 2} {
		p := mirostatParams(version)
		p.Temp = 0
		s := New(p)
		if got := s.Sample([]float32{1, 3, 3, 2}); got != 1 {
			t.Errorf("mirostat %d at temp 0 picked %d, want 1", version, got)
		}
		if want := float32(10 + 0.1*5); math.Abs(float64(s.mu-want)) > 1e-6 {
			t.Errorf("mirostat %d at temp 0: mu %v, want %v", version, s.mu, want)
		}
	}
}

// TestMirostatV1 uses a Zipf distribution, p_i ~ 1/i^1.2 over 1000 tokens:
// its estimated exponent is exactly 1.2, so the kept k follows from llama.cpp's
// formula k = (eps 2^mu / (1 - n^-eps))^(1/s) with eps = s - 1.
func TestMirostatV1(t *testing.T) {
	const n, zipf = 1000, 1.2
	logits := make([]float32, n)
	for i := range logits {
		logits[(i*37)%n] = float32(-zipf * math.Log(float64(i+1))) // shuffled ids
	}
	for _, mu := range []float32{4, 6.3, 8.5, 10} {
		eps := zipf - 1.0
		k := math.Pow(eps*math.Pow(2, float64(mu))/(1-math.Pow(n, -eps)), 1/zipf)
		if frac := k - math.Floor(k); frac < 0.05 || frac > 0.95 {
			t.Fatalf("mu %v: k = %v is too close to an integer for float32 to agree", mu, k)
		}
		s := New(mirostatParams(1))
		s.mu = mu
		cands := s.load(logits)
		softmax(cands)
		kept := s.mirostatV1Truncate(cands)
		if want := int(k); len(kept) != want {
			t.Errorf("mu %v: kept %d tokens, want %d", mu, len(kept), want)
		}
		for i, c := range kept {
			if want := int32((i * 37) % n); c.id != want {
				t.Fatalf("mu %v: kept[%d] = token %d, want %d (the %d-th most likely)", mu, i, c.id, want, i+1)
			}
		}
	}
	// Through Sample: mu moves by eta * (surprise - tau) of the drawn token.
	s := New(mirostatParams(1))
	for range 20 {
		before := s.mu
		id := s.Sample(logits)
		if s.mu == before || id < 0 {
			t.Fatalf("mirostat v1 drew %d and left mu at %v", id, s.mu)
		}
	}
}
