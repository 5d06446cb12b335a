package tokenizer

// heap is a binary heap whose top is the item that sorts first under less.
// The sift order is fixed, so items that compare equal pop in the same
// order on every run, which the merge queues rely on to match llama.cpp.
type heap[T any] struct {
	items []T
	less  func(a, b T) bool
}

// reset empties the heap, keeping its storage, and sets its ordering.
func (h *heap[T]) reset(less func(a, b T) bool) {
	h.items = h.items[:0]
	h.less = less
}

func (h *heap[T]) len() int { return len(h.items) }

func (h *heap[T]) push(x T) {
	h.items = append(h.items, x)
	q := h.items
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(q[i], q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

// pop removes and returns the top item; the heap must not be empty.
func (h *heap[T]) pop() T {
	q := h.items
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && h.less(q[l], q[m]) {
			m = l
		}
		if r < len(q) && h.less(q[r], q[m]) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	h.items = q
	return top
}
