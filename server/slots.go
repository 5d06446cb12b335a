package server

import (
	"context"
	"errors"
	"sync"

	"github.com/infer-go/infer"
)

// slot is one session of the model: its own KV cache, used by one request
// at a time.
type slot struct {
	id   int
	sess *infer.Session
	// lastUsed orders free slots for eviction: the least recently used
	// cache is the one a new conversation overwrites.
	lastUsed uint64
	// cached is what the session's cache held when the slot was last
	// released (the session itself is locked while it generates, so the
	// pool never asks a busy one).
	cached []int32
}

// errQueueFull is returned by acquire when every slot is busy and the queue
// holds its limit of waiting requests.
var errQueueFull = errors.New("every slot is busy and the queue is full")

// slotPool hands out slots. A request takes the free slot whose cache holds
// the longest prefix of its prompt, provided that prefix is at least half
// the prompt (llama-server's slot similarity rule); otherwise it takes the
// least recently used free slot, so that a new conversation does not
// overwrite a cached one when an idle or older cache is available. When
// none is free the request waits in a FIFO queue of bounded length, and a
// released slot goes straight to the request at its head.
type slotPool struct {
	mu       sync.Mutex
	slots    []*slot
	free     []bool
	waiters  []*waiter
	maxQueue int
	clock    uint64
	peak     int // the longest the queue has been
}

type waiter struct {
	ch chan *slot // receives the slot handed over; buffered, never blocks
}

func newSlotPool(slots []*slot, maxQueue int) *slotPool {
	p := &slotPool{slots: slots, free: make([]bool, len(slots)), maxQueue: maxQueue}
	for i := range p.free {
		p.free[i] = true
	}
	return p
}

// acquire returns a slot for prompt, waiting while every slot is busy
// until one is released or ctx ends.
func (p *slotPool) acquire(ctx context.Context, prompt []int32) (*slot, error) {
	p.mu.Lock()
	if s := p.pickFree(prompt); s != nil {
		p.mu.Unlock()
		return s, nil
	}
	if len(p.waiters) >= p.maxQueue {
		p.mu.Unlock()
		return nil, errQueueFull
	}
	w := &waiter{ch: make(chan *slot, 1)}
	p.waiters = append(p.waiters, w)
	p.peak = max(p.peak, len(p.waiters))
	p.mu.Unlock()

	select {
	case s := <-w.ch:
		return s, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, x := range p.waiters {
			if x == w {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		p.mu.Unlock()
		// A slot was handed over as ctx ended: pass it on.
		p.release(<-w.ch)
		return nil, ctx.Err()
	}
}

// pickFree marks and returns the best free slot for prompt, or nil. The
// caller holds p.mu.
func (p *slotPool) pickFree(prompt []int32) *slot {
	best, bestPrefix, lru := -1, 0, -1
	for i, s := range p.slots {
		if !p.free[i] {
			continue
		}
		if n := commonPrefix(s.cached, prompt); n > bestPrefix {
			best, bestPrefix = i, n
		}
		if lru < 0 || s.lastUsed < p.slots[lru].lastUsed {
			lru = i
		}
	}
	if lru < 0 {
		return nil
	}
	pick := lru
	if best >= 0 && 2*bestPrefix >= len(prompt) {
		pick = best
	}
	p.free[pick] = false
	p.clock++
	p.slots[pick].lastUsed = p.clock
	return p.slots[pick]
}

// release gives s back: to the first waiting request, or to the free list.
func (p *slotPool) release(s *slot) {
	cached := s.sess.Tokens()
	p.mu.Lock()
	s.cached = cached
	defer p.mu.Unlock()
	p.clock++
	s.lastUsed = p.clock
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.ch <- s
		return
	}
	p.free[s.id] = true
}

// poolStats is a snapshot of the pool.
type poolStats struct {
	busy, queued, peakQueued int
	cachedTokens             int // tokens held by every slot's cache
}

func (p *slotPool) stats() poolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := poolStats{queued: len(p.waiters), peakQueued: p.peak}
	for i, s := range p.slots {
		if !p.free[i] {
			st.busy++
		}
		st.cachedTokens += len(s.cached)
	}
	return st
}

func commonPrefix(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
