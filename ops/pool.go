package ops

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// DefaultThreads is the number of threads worth using for the kernels: the
// physical cores (hyper-threads share the execution units the kernels
// saturate), or runtime.NumCPU() when the core count cannot be detected,
// capped by GOMAXPROCS since more workers than Ps cannot run at once.
func DefaultThreads() int {
	n := cpuid.CPU.PhysicalCores
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if m := runtime.GOMAXPROCS(0); n > m {
		n = m
	}
	return max(n, 1)
}

// Pool runs data-parallel work on persistent worker goroutines. A token of
// generation calls MatMul about ten times per layer, so the workers are
// started once and woken per call rather than spawned.
//
// A nil *Pool is valid and runs everything on the calling goroutine. Parallel
// may be called from several goroutines; calls on one Pool run one at a time.
type Pool struct {
	threads int
	mu      sync.Mutex // serialises Parallel calls
	closed  atomic.Bool
	work    []chan poolTask // one channel per worker; the caller is thread 0
	wg      sync.WaitGroup  // outstanding tasks of the current call
	exited  sync.WaitGroup  // running workers, for Close
	panics  panicSlot
}

type poolTask struct {
	f      func(lo, hi int)
	lo, hi int
}

// panicSlot keeps the first panic raised by a task so Parallel can re-raise
// it on the caller's goroutine instead of crashing the process from a worker.
type panicSlot struct {
	mu  sync.Mutex
	val any
	set bool
}

func (s *panicSlot) run(f func(lo, hi int), lo, hi int) {
	defer func() {
		if r := recover(); r != nil {
			s.mu.Lock()
			if !s.set {
				s.val, s.set = r, true
			}
			s.mu.Unlock()
		}
	}()
	f(lo, hi)
}

// NewPool starts a pool of threads goroutines in all (the caller of Parallel
// counts as one, so threads-1 workers are started). threads < 1 means 1.
func NewPool(threads int) *Pool {
	threads = max(threads, 1)
	p := &Pool{threads: threads, work: make([]chan poolTask, threads-1)}
	for i := range p.work {
		ch := make(chan poolTask, 1)
		p.work[i] = ch
		p.exited.Add(1)
		go p.worker(ch)
	}
	return p
}

func (p *Pool) worker(ch chan poolTask) {
	defer p.exited.Done()
	for t := range ch {
		p.panics.run(t.f, t.lo, t.hi)
		p.wg.Done()
	}
}

// Threads is the number of goroutines Parallel spreads work over (1 for a nil
// Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the workers and waits for them to exit. Calling Parallel after
// Close panics; Close itself may be called more than once.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if !p.closed.Swap(true) {
		for _, ch := range p.work {
			close(ch)
		}
	}
	p.mu.Unlock()
	p.exited.Wait()
}

// Parallel splits [0, n) into at most Threads() contiguous ranges of nearly
// equal length, calls f once per non-empty range, each on its own goroutine
// (the first on the caller's), and returns when all calls have returned. A
// panic in f is re-raised here. f must not call Parallel on the same Pool.
func (p *Pool) Parallel(n int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p == nil {
		f(0, n)
		return
	}
	if p.closed.Load() {
		panic("ops: Parallel on a closed Pool")
	}
	if p.threads == 1 || n == 1 {
		f(0, n)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		panic("ops: Parallel on a closed Pool")
	}
	k := min(p.threads, n)
	p.panics.val, p.panics.set = nil, false
	p.wg.Add(k - 1)
	for i := 1; i < k; i++ {
		p.work[i-1] <- poolTask{f: f, lo: splitPoint(n, k, i), hi: splitPoint(n, k, i+1)}
	}
	p.panics.run(f, 0, splitPoint(n, k, 1))
	p.wg.Wait()
	if p.panics.set {
		panic(p.panics.val)
	}
}

// splitPoint is the start of range i when [0, n) is cut into k ranges whose
// lengths differ by at most one.
func splitPoint(n, k, i int) int {
	return n/k*i + min(i, n%k)
}
