package sampler

import "math"

// mirostatM is the number of most likely tokens Mirostat v1 fits its Zipf
// exponent to, as in llama.cpp.
const mirostatM = 100

func log2f(x float32) float32 { return float32(math.Log2(float64(x))) }

func powf(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }

// mirostat runs llama.cpp's Mirostat chain after the logit bias: the plain
// temperature (<= 0: greedy), then Mirostat v1 or v2, which choose the token
// and update mu. cands must be the whole vocabulary, indexed by id.
func (s *Sampler) mirostat(cands []candidate) int32 {
	p := &s.params
	if p.Temp <= 0 {
		// llama.cpp leaves only the best token, drawn with probability 1.
		s.mirostatUpdate(1)
		return cands[best(cands)].id
	}
	if p.Temp != 1 {
		for i := range cands {
			cands[i].logit /= p.Temp
		}
	}
	if math.IsInf(float64(softmax(cands)), 0) {
		s.mirostatUpdate(1)
		return cands[best(cands)].id
	}
	if p.Mirostat == 1 {
		cands = s.mirostatV1Truncate(cands)
	} else {
		cands = s.mirostatV2Truncate(cands)
	}
	i, prob := s.draw(cands)
	s.mirostatUpdate(prob)
	return cands[i].id
}

// mirostatUpdate moves mu towards the target surprise after drawing a token
// of probability prob: mu -= eta * (-log2(prob) - tau).
func (s *Sampler) mirostatUpdate(prob float64) {
	p := &s.params
	if p.Mirostat == 0 {
		return
	}
	surprise := -log2f(float32(prob))
	s.mu -= p.MirostatEta * (surprise - p.MirostatTau)
}

// mirostatV2Truncate keeps the tokens whose surprise -log2(p) is at most mu
// (the most likely one if none), sorted best first. cands hold their
// probabilities in .p.
func (s *Sampler) mirostatV2Truncate(cands []candidate) []candidate {
	n := 0
	for _, c := range cands {
		if -log2f(c.p) <= s.mu {
			cands[n] = c
			n++
		}
	}
	if n == 0 { // nothing was overwritten
		selectTop(cands, 1)
		return cands[:1]
	}
	cands = cands[:n]
	sortBest(cands)
	return cands
}

// mirostatV1Truncate estimates the Zipf exponent s of the distribution from
// its mirostatM most likely tokens, computes the k whose top-k has expected
// surprise mu, and keeps the k best tokens, sorted. cands hold their
// probabilities in .p and are the whole vocabulary.
func (s *Sampler) mirostatV1Truncate(cands []candidate) []candidate {
	nVocab := float32(len(cands))
	m := min(mirostatM, len(cands))
	selectTop(cands, m)
	var sumTB, sumTT float32
	for i := range m - 1 {
		t := logf(float32(i+2) / float32(i+1))
		b := logf(cands[i].p / cands[i+1].p)
		sumTB += t * b
		sumTT += t * t
	}
	sHat := sumTB / sumTT
	epsilon := sHat - 1
	k := powf(epsilon*powf(2, s.mu)/(1-powf(nVocab, -epsilon)), 1/sHat)
	keep := 1 // also when k is NaN
	if k >= 1 {
		keep = int(min(k, nVocab))
	}
	if keep > m {
		selectTop(cands[m:], keep-m)
	}
	return cands[:keep]
}
