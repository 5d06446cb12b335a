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
