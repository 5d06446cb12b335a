package ops

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolParallelCovers checks that Parallel hands out each index of [0, n)
// exactly once, in at most Threads() non-empty ranges.
func TestPoolParallelCovers(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 3, 5, 7, 64, 1001} {
			seen := make([]int32, n)
			var calls atomic.Int32
			p.Parallel(n, func(lo, hi int) {
				calls.Add(1)
				if lo >= hi {
					t.Errorf("threads %d, n %d: empty range [%d, %d)", threads, n, lo, hi)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("threads %d, n %d: index %d visited %d times", threads, n, i, c)
				}
			}
			if want := min(max(threads, 1), n); int(calls.Load()) != want {
				t.Errorf("threads %d, n %d: %d calls, want %d", threads, n, calls.Load(), want)
			}
		}
		p.Close()
	}
}

func TestPoolThreads(t *testing.T) {
	var nilPool *Pool
	if got := nilPool.Threads(); got != 1 {
		t.Errorf("nil pool: Threads() = %d, want 1", got)
	}
	for _, n := range []int{-3, 0, 1, 4} {
		p := NewPool(n)
		if got, want := p.Threads(), max(n, 1); got != want {
			t.Errorf("NewPool(%d).Threads() = %d, want %d", n, got, want)
		}
		p.Close()
	}
	if DefaultThreads() < 1 {
		t.Errorf("DefaultThreads() = %d", DefaultThreads())
	}
}

func TestPoolNilRunsInline(t *testing.T) {
	var p *Pool
	var got [2]int
	p.Parallel(10, func(lo, hi int) { got = [2]int{lo, hi} })
	if got != [2]int{0, 10} {
		t.Errorf("nil pool ran %v, want [0 10]", got)
	}
	p.Close() // no-op
}

// TestPoolReraisesPanics checks that a panic in a worker's range comes back
// to the caller and leaves the pool usable.
func TestPoolReraisesPanics(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, bad := range []int{0, 5, 9} { // in the caller's range and in workers'
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("index %d: recovered %v, want boom", bad, r)
				}
			}()
			p.Parallel(10, func(lo, hi int) {
				if lo <= bad && bad < hi {
					panic("boom")
				}
			})
		}()
	}
	var n atomic.Int32
	p.Parallel(10, func(lo, hi int) { n.Add(int32(hi - lo)) })
	if n.Load() != 10 {
		t.Errorf("after panics: covered %d of 10", n.Load())
	}
}

func TestPoolClose(t *testing.T) {
	p := NewPool(4)
	p.Close()
	p.Close() // idempotent
	defer func() {
		if recover() == nil {
			t.Error("Parallel after Close did not panic")
		}
	}()
	p.Parallel(10, func(lo, hi int) {})
}

// TestPoolConcurrentCallers runs Parallel from several goroutines at once;
// with -race this also checks the pool's synchronisation.
func TestPoolConcurrentCallers(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				out := make([]int, 100)
				p.Parallel(len(out), func(lo, hi int) {
					for i := lo; i < hi; i++ {
						out[i] = i * g
					}
				})
				for i, v := range out {
					if v != i*g {
						t.Errorf("goroutine %d: out[%d] = %d", g, i, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPoolParallel(b *testing.B) {
	p := NewPool(DefaultThreads())
	defer p.Close()
	var sink [64]int64
	for b.Loop() {
		p.Parallel(64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sink[i]++
			}
		})
	}
}

// TestPoolParksAndWakes leaves the pool idle past spinFor between calls, so
// that the workers park, and checks that the next call wakes them and that
// every range still runs on its own goroutine.
func TestPoolParksAndWakes(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for round := range 5 {
		time.Sleep(3 * spinFor)
		var seen [30]atomic.Int32
		p.Parallel(len(seen), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("round %d: index %d visited %d times", round, i, seen[i].Load())
			}
		}
	}
}

// TestPoolFewerProcsThanThreads runs a pool with more threads than
// GOMAXPROCS: its goroutines must not spin against each other for a P (the
// test would take seconds, or hang, if they did).
func TestPoolFewerProcsThanThreads(t *testing.T) {
	was := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(was)
	p := NewPool(4)
	defer p.Close()
	start := time.Now()
	var total atomic.Int64
	for range 2000 {
		p.Parallel(8, func(lo, hi int) { total.Add(int64(hi - lo)) })
	}
	if total.Load() != 2000*8 {
		t.Errorf("covered %d indices, want %d", total.Load(), 2000*8)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("2000 calls took %v with GOMAXPROCS=1", d)
	}
}

// TestPoolSmallCallsThenLarge alternates calls with fewer indices than
// threads (some workers idle) and larger ones, from two goroutines, so a
// worker that sat one call out must still run its range of the next.
func TestPoolSmallCallsThenLarge(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := 2 + (i+g)%7
				out := make([]int, n)
				p.Parallel(n, func(lo, hi int) {
					for j := lo; j < hi; j++ {
						out[j] += j + 1
					}
				})
				for j, v := range out {
					if v != j+1 {
						t.Errorf("n %d: out[%d] = %d", n, j, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkPoolParallelTiny is the cost of one call beyond its work: a call
// with almost nothing to do, as the small products of a token are.
func BenchmarkPoolParallelTiny(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			var sink [2][8]int64
			for b.Loop() {
				p.Parallel(2, func(lo, hi int) { sink[lo][0]++ })
			}
		})
	}
}

// BenchmarkPoolParallelAfterIdle times a call that finds its workers
// parked (the pool idle for longer than spinFor): each op sleeps 2*spinFor,
// then calls; "ns/call" is the call alone, the wake-up cost.
func BenchmarkPoolParallelAfterIdle(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink [2][8]int64
	var inCall time.Duration
	for b.Loop() {
		time.Sleep(2 * spinFor)
		start := time.Now()
		p.Parallel(2, func(lo, hi int) { sink[lo][0]++ })
		inCall += time.Since(start)
	}
	b.ReportMetric(float64(inCall.Nanoseconds())/float64(b.N), "ns/call")
}

// TestPoolParallelChunks checks that ParallelChunks hands out each chunk of
// [0, n) exactly once, chunk-aligned, on every pool size and on a nil pool.
func TestPoolParallelChunks(t *testing.T) {
	var nilPool *Pool
	pools := []*Pool{nilPool, NewPool(1), NewPool(2), NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, p := range pools {
		for _, n := range []int{0, 1, 5, 16, 17, 100, 1001} {
			for _, chunk := range []int{0, 1, 3, 16, 2000} {
				seen := make([]int32, n)
				p.ParallelChunks(n, chunk, func(lo, hi int) {
					c := max(chunk, 1)
					if lo%c != 0 || hi != min(lo+c, n) {
						t.Errorf("threads %d, n %d, chunk %d: got [%d, %d)", p.Threads(), n, chunk, lo, hi)
					}
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&seen[i], 1)
					}
				})
				for i, c := range seen {
					if c != 1 {
						t.Fatalf("threads %d, n %d, chunk %d: index %d visited %d times", p.Threads(), n, chunk, i, c)
					}
				}
			}
		}
	}
}

// TestPoolParallelChunksShares checks that a slow goroutine does not hold
// the others back: while the goroutine with chunk 0 waits (up to seconds),
// the other takes every remaining chunk, where Parallel's fixed halves
// would have left half of them queued behind the slow one.
func TestPoolParallelChunksShares(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var others atomic.Int32
	allDone := false
	p.ParallelChunks(20, 1, func(lo, hi int) {
		if lo != 0 {
			others.Add(1)
			return
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if others.Load() == 19 {
				allDone = true
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	if !allDone {
		t.Errorf("only %d of the other 19 chunks ran while chunk 0 waited", others.Load())
	}
}

// TestPoolParallelChunksPanics checks that a panic in a chunk comes back to
// the caller and that the pool stays usable.
func TestPoolParallelChunksPanics(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, bad := range []int{0, 7, 19} {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("chunk %d: recovered %v, want boom", bad, r)
				}
			}()
			p.ParallelChunks(20, 1, func(lo, hi int) {
				if lo == bad {
					panic("boom")
				}
			})
		}()
	}
	var n atomic.Int32
	p.ParallelChunks(20, 3, func(lo, hi int) { n.Add(int32(hi - lo)) })
	if n.Load() != 20 {
		t.Errorf("after panics: covered %d of 20", n.Load())
	}
	p.Close()
	defer func() {
		if recover() == nil {
			t.Error("ParallelChunks after Close did not panic")
		}
	}()
	p.ParallelChunks(20, 3, func(lo, hi int) {})
}

// TestPoolMixedCalls interleaves Parallel and ParallelChunks from several
// goroutines; with -race this checks that a dynamic call's fields never
// race with a static one's.
func TestPoolMixedCalls(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				n := 5 + (i*7+g)%40
				out := make([]int32, n)
				body := func(lo, hi int) {
					for j := lo; j < hi; j++ {
						atomic.AddInt32(&out[j], 1)
					}
				}
				if i%2 == 0 {
					p.Parallel(n, body)
				} else {
					p.ParallelChunks(n, 1+i%5, body)
				}
				for j, v := range out {
					if v != 1 {
						t.Errorf("n %d: out[%d] = %d", n, j, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
