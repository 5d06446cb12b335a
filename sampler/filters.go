package sampler

import (
	"math"
	"slices"
)

// selectTop moves the k best candidates to cands[:k], sorted best first,
// in O(n log k): a min-heap of the best k seen so far, worst at the root.
func selectTop(cands []candidate, k int) {
	h := cands[:k]
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(cands); i++ {
		if better(cands[i], h[0]) {
			h[0], cands[i] = cands[i], h[0]
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, compareCandidates)
}

// siftDown restores the heap property (parent worse than children) below i.
func siftDown(h []candidate, i int) {
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// topP keeps the shortest best-first prefix of cands whose softmax
// probabilities sum to at least p (at least one token) and leaves it sorted.
// Unsorted input is ordered lazily, as llama.cpp does: usually the best 256
// tokens already reach p, so the full sort is rarely needed.
func topP(cands []candidate, p float32, sorted bool) []candidate {
	maxL := cands[0].logit
	if !sorted {
		for _, c := range cands[1:] {
			maxL = max(maxL, c.logit)
		}
	}
	if math.IsInf(float64(maxL), 0) {
		// +Inf takes all the mass; all -Inf leaves the draw to pick the best.
		if !sorted {
			selectTop(cands, 1)
		}
		return cands[:1]
	}
	var sum float32
	for i := range cands {
		e := float32(math.Exp(float64(cands[i].logit - maxL)))
		cands[i].p = e
		sum += e
	}
	done := len(cands) // cands[:done] is sorted
	if !sorted {
		done = min(256, len(cands))
		selectTop(cands, done)
	}
	var cum float32
	for i := range cands {
		if i == done {
			slices.SortFunc(cands[done:], compareCandidates)
			done = len(cands)
		}
		cum += cands[i].p / sum
		if cum >= p {
			return cands[:i+1]
		}
	}
	return cands
}

// minP drops the candidates whose probability is below p times the largest:
// logit < max + log(p). The most likely token always stays. Order is kept.
func minP(cands []candidate, p float32, sorted bool) []candidate {
	maxL := cands[0].logit
	if !sorted {
		for _, c := range cands[1:] {
			maxL = max(maxL, c.logit)
		}
	}
	threshold := maxL + float32(math.Log(float64(p)))
	if sorted {
		n := 1
		for n < len(cands) && cands[n].logit >= threshold {
			n++
		}
		return cands[:n]
	}
	n := 0
	for _, c := range cands {
		if c.logit >= threshold {
			cands[n] = c
			n++
		}
	}
	return cands[:n]
}

// softmax leaves each candidate's probability in .p, computed as llama.cpp
// does (float32 exp(logit - max), divided by their float32 sum), and
// returns the largest logit.
func softmax(cands []candidate) float32 {
	maxL := cands[0].logit
	for _, c := range cands[1:] {
		maxL = max(maxL, c.logit)
	}
	var sum float32
	for i := range cands {
		e := float32(math.Exp(float64(cands[i].logit - maxL)))
		cands[i].p = e
		sum += e
	}
	for i := range cands {
		cands[i].p /= sum
	}
	return maxL
}

// logf is the natural logarithm in float32, as llama.cpp's logf.
func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// typical keeps the locally typical candidates (Meister et al.): sorted by
// how far their surprise -log p is from the entropy, the shortest prefix
// whose probabilities sum to more than p (at least one token). The result
// is in that order, not by logit. Tokens with probability 0 count as
// infinitely far (llama.cpp would compute NaN for them).
func typical(cands []candidate, p float32) []candidate {
	if math.IsInf(float64(softmax(cands)), 0) {
		// +Inf takes all the mass; all -Inf leaves nothing to rank.
		selectTop(cands, 1)
		return cands[:1]
	}
	var entropy float32
	for _, c := range cands {
		if c.p > 0 {
			entropy -= c.p * logf(c.p)
		}
	}
	for i := range cands {
		c := &cands[i]
		c.score = float32(math.Inf(1))
		if c.p > 0 {
			c.score = float32(math.Abs(float64(-logf(c.p) - entropy)))
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return compareCandidates(a, b)
	})
	var cum float32
	for i := range cands {
		cum += cands[i].p
		if cum > p {
			return cands[:i+1]
		}
	}
	return cands
}

// applyXTC is "exclude top choices": with probability XTCProbability (one
// draw of XTC's own generator per call, when there are at least two
// candidates), it removes every candidate whose probability is at least
// XTCThreshold except the least likely of them, if there are two or more.
// Order is kept.
func (s *Sampler) applyXTC(cands []candidate, sorted bool) []candidate {
	p := &s.params
	if len(cands) < 2 || s.xtcRng.Float32() > p.XTCProbability {
		return cands
	}
	softmax(cands)
	above, last := 0, -1 // last: the least likely candidate at or above the threshold
	for i, c := range cands {
		if c.p >= p.XTCThreshold {
			above++
			if last < 0 || better(cands[last], c) {
				last = i
			}
		}
	}
	if above < 2 {
		return cands
	}
	if sorted {
		// The candidates above the threshold are the first ones.
		return cands[last:]
	}
	n := 0
	for i, c := range cands {
		if c.p < p.XTCThreshold || i == last {
			cands[n] = c
			n++
		}
	}
	return cands[:n]
}

// dynamicTemp is llama.cpp's temp-ext with a range: the temperature moves
// between max(0, temp-spread) and temp+spread with the candidates'
// entropy, normalised by its maximum log(n), raised to exponent. A single
// candidate needs no temperature: 1.
func dynamicTemp(cands []candidate, temp, spread, exponent float32) float32 {
	if len(cands) <= 1 {
		return 1
	}
	minT, maxT := max(0, temp-spread), temp+spread
	maxEntropy := -logf(1 / float32(len(cands)))
	if math.IsInf(float64(softmax(cands)), 0) {
		// No entropy to measure (+Inf takes all the mass, or nothing is left).
		return temp
	}
	var entropy float32
	for _, c := range cands {
		if c.p > 0 {
			entropy -= c.p * logf(c.p)
		}
	}
	normalized := entropy / maxEntropy
	return minT + (maxT-minT)*float32(math.Pow(float64(normalized), float64(exponent)))
}

// sortBest sorts cands best first.
func sortBest(cands []candidate) { slices.SortFunc(cands, compareCandidates) }
