package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
// generation calls Parallel about ten times per layer (a couple of hundred
// times per token of a 1B model), each call a few tens of microseconds of
// work, so what a call costs beyond the work itself matters: the workers are
// started once, and between calls they spin for a while on a generation
// counter before they park, so a call that follows soon after the previous
// one starts them with one atomic store and waits for them by watching one
// atomic counter, with no channel operation or futex on either side. A
// worker that has spun for spinFor without seeing work parks on its wake
// channel, and the caller wakes it with a send.
//
// A nil *Pool is valid and runs everything on the calling goroutine. Parallel
// may be called from several goroutines; calls on one Pool run one at a time.
type Pool struct {
	threads int
	spin    bool       // spin before parking (false when GOMAXPROCS < threads)
	mu      sync.Mutex // serialises Parallel calls and Close
	closed  atomic.Bool

	// The current call, published by the caller before it advances gen and
	// read by the workers after they see gen advance.
	f    func(lo, hi int)
	n, k int
	// chunk > 0 makes the call dynamic (ParallelChunks): every goroutine
	// takes chunks of that length by advancing next until none is left.
	chunk int
	next  atomic.Int64
	quit  bool // set with the last generation: workers exit

	// gen is advanced once per call; pending counts the workers that have
	// not yet finished with it. Every worker takes part in every call (one
	// whose range is empty just counts itself off), so when pending reaches
	// zero no worker reads the fields above any more and the next call may
	// overwrite them.
	_       [64]byte // the counters on their own cache line
	gen     atomic.Uint64
	pending atomic.Int32
	_       [64]byte

	// Parking. A worker sets its sleeping flag, re-checks gen and blocks on
	// its wake channel; the caller, after advancing gen, takes every set
	// flag and sends to that worker. The caller parks on done the same way
	// (callerSleeping), woken by the worker that finishes last.
	workers        []poolWorker
	callerSleeping atomic.Bool
	done           chan struct{}

	exited sync.WaitGroup // running workers, for Close
	panics panicSlot
}

type poolWorker struct {
	sleeping atomic.Bool
	wake     chan struct{}
	_        [48]byte // keep workers' flags on separate cache lines
}

// spinFor is how long a worker (or a caller waiting for its workers) polls
// before it parks. Calls within a token follow each other after a few
// microseconds of single-threaded work (norms, RoPE), well within it; a
// pool left idle parks its workers after this long and costs nothing. It
// is short because a spinning goroutine holds its thread: on a machine
// busy with other processes a caller waiting for a worker whose thread the
// kernel has descheduled parks soon, and its processor then runs whatever
// of the pool's work is runnable.
const spinFor = 50 * time.Microsecond

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
	p := &Pool{
		threads: threads,
		// Spinning goroutines need a P each: with fewer Ps than threads
		// they would only take turns, so park at once instead.
		spin:    runtime.GOMAXPROCS(0) >= threads,
		workers: make([]poolWorker, threads-1),
		done:    make(chan struct{}, 1),
	}
	for i := range p.workers {
		p.workers[i].wake = make(chan struct{}, 1)
		p.exited.Add(1)
		go p.worker(i+1, &p.workers[i])
	}
	return p
}

// worker runs range index of every call that has one, until quit.
func (p *Pool) worker(index int, w *poolWorker) {
	defer p.exited.Done()
	var seen uint64
	for {
		seen = p.waitGen(seen, w)
		if p.quit {
			return
		}
		switch {
		case p.chunk > 0:
			p.takeChunks()
		case index < p.k:
			p.panics.run(p.f, splitPoint(p.n, p.k, index), splitPoint(p.n, p.k, index+1))
		}
		if p.pending.Add(-1) == 0 && p.callerSleeping.Swap(false) {
			p.done <- struct{}{}
		}
	}
}

// waitGen returns once gen has moved past seen, spinning first, then parked.
func (p *Pool) waitGen(seen uint64, w *poolWorker) uint64 {
	if p.spin {
		if g, ok := spinUntil(func() (uint64, bool) { g := p.gen.Load(); return g, g != seen }); ok {
			return g
		}
	}
	for {
		w.sleeping.Store(true)
		if g := p.gen.Load(); g != seen {
			if w.sleeping.Swap(false) {
				return g // not claimed by a caller: no send is coming
			}
			<-w.wake // a caller claimed the flag and sends
			return g
		}
		// Parked, but never for long without looking again: a wake-up lost
		// to a scheduling race (seen under qemu) costs a millisecond, not
		// a hang.
		select {
		case <-w.wake:
		case <-time.After(parkRecheck):
			if !w.sleeping.Swap(false) {
				<-w.wake // a caller claimed the flag meanwhile and sends
			}
		}
		if g := p.gen.Load(); g != seen {
			return g
		}
	}
}

// parkRecheck bounds how long a parked goroutine waits before it looks at
// the pool's state again.
const parkRecheck = time.Millisecond

// spinUntil polls cond until it reports true or spinFor has passed, and
// returns its last value. It yields the processor now and then, so that on
// a busy machine the goroutine it waits for can run.
func spinUntil[T any](cond func() (T, bool)) (T, bool) {
	var start time.Time
	for i := 1; ; i++ {
		if v, ok := cond(); ok {
			return v, true
		}
		if i%256 == 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				var zero T
				return zero, false
			}
			if i%4096 == 0 {
				runtime.Gosched()
			}
		}
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
		p.quit = true
		p.advance()
	}
	p.mu.Unlock()
	p.exited.Wait()
}

// advance publishes the fields set before it to every worker and wakes the
// parked ones.
func (p *Pool) advance() {
	p.gen.Add(1)
	for i := range p.workers {
		if w := &p.workers[i]; w.sleeping.Swap(false) {
			w.wake <- struct{}{}
		}
	}
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
	p.run(f, n, k, 0, func() { p.panics.run(f, 0, splitPoint(n, k, 1)) })
}

// ParallelChunks calls f once for each chunk of [0, n) — [0, chunk),
// [chunk, 2*chunk), ..., the last one shorter — on the pool's goroutines,
// each taking the next chunk nobody has taken as soon as it is free, and
// returns when all calls have returned. Unlike Parallel's fixed ranges,
// this keeps every thread busy when one of them is slowed down (another
// process on its core, say): the others take its share. Which goroutine
// runs a chunk varies from call to call, so f must not depend on it. A
// panic in f is re-raised here; f must not call the Pool. chunk < 1 means 1.
func (p *Pool) ParallelChunks(n, chunk int, f func(lo, hi int)) {
	chunk = max(chunk, 1)
	if n <= 0 {
		return
	}
	if p == nil || p.threads == 1 || n <= chunk {
		if p != nil && p.closed.Load() {
			panic("ops: Parallel on a closed Pool")
		}
		for lo := 0; lo < n; lo += chunk {
			f(lo, min(lo+chunk, n))
		}
		return
	}
	if p.closed.Load() {
		panic("ops: Parallel on a closed Pool")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		panic("ops: Parallel on a closed Pool")
	}
	p.next.Store(0)
	p.run(f, n, p.threads, chunk, p.takeChunks)
}

// run publishes one call to the workers, runs the caller's part and waits
// for the workers; the caller holds p.mu.
func (p *Pool) run(f func(lo, hi int), n, k, chunk int, mine func()) {
	p.panics.val, p.panics.set = nil, false
	p.f, p.n, p.k, p.chunk = f, n, k, chunk
	p.pending.Store(int32(len(p.workers)))
	p.advance()
	mine()
	p.waitDone()
	p.f = nil // keep no reference to the caller's closure
	if p.panics.set {
		panic(p.panics.val)
	}
}

// takeChunks runs the current call's chunks until none is left.
func (p *Pool) takeChunks() {
	for {
		lo := int(p.next.Add(int64(p.chunk))) - p.chunk
		if lo >= p.n {
			return
		}
		p.panics.run(p.f, lo, min(lo+p.chunk, p.n))
	}
}

// waitDone returns when every worker of the current call has finished,
// spinning first, then parked on done.
func (p *Pool) waitDone() {
	finished := func() (struct{}, bool) { return struct{}{}, p.pending.Load() == 0 }
	if p.spin {
		if _, ok := spinUntil(finished); ok {
			return
		}
	}
	p.callerSleeping.Store(true)
	for {
		if p.pending.Load() == 0 && p.callerSleeping.Swap(false) {
			return
		}
		select {
		case <-p.done:
			return
		case <-time.After(parkRecheck):
			if p.pending.Load() == 0 {
				if p.callerSleeping.Swap(false) {
					return // no worker claimed the flag: no send is coming
				}
				<-p.done // a worker claimed it and sends
				return
			}
		}
	}
}

// splitPoint is the start of range i when [0, n) is cut into k ranges whose
// lengths differ by at most one.
func splitPoint(n, k, i int) int {
	return n/k*i + min(i, n%k)
}
