package mnist

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Network is the network of chapter 1 of Michael Nielsen's "Neural Networks
// and Deep Learning" (network.py): fully connected layers of sigmoid neurons,
// quadratic cost, trained by mini-batch stochastic gradient descent with
// backpropagation, in float64.
//
// Weights[l] connects layer l to layer l+1: Sizes[l+1] rows of Sizes[l]
// columns, row-major, so Weights[l][j*Sizes[l]+k] is the book's w^{l+1}_{jk}
// (from neuron k to neuron j). Biases[l] holds the biases of layer l+1.
type Network struct {
	Sizes   []int
	Weights [][]float64
	Biases  [][]float64
}

// NewNetwork returns a network with the book's default initialisation: every
// bias and weight drawn from the standard normal distribution N(0, 1), the
// biases first, then the weights, layer by layer.
func NewNetwork(sizes []int, rng *rand.Rand) (*Network, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("network sizes %v: need an input and an output layer", sizes)
	}
	for _, s := range sizes {
		if s <= 0 || s > 1<<16 {
			return nil, fmt.Errorf("network sizes %v: layer size %d out of range 1..65536", sizes, s)
		}
	}
	n := &Network{Sizes: append([]int(nil), sizes...)}
	for l := 1; l < len(sizes); l++ {
		b := make([]float64, sizes[l])
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		n.Biases = append(n.Biases, b)
	}
	for l := 1; l < len(sizes); l++ {
		w := make([]float64, sizes[l]*sizes[l-1])
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		n.Weights = append(n.Weights, w)
	}
	return n, nil
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// pixelValue maps a pixel byte to the network's input, pixel/255.
var pixelValue = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(i) / 255
	}
	return
}()

// workspace holds one example's activations and errors, and the gradient
// summed over a mini-batch, allocated once so that training allocates
// nothing per example.
type workspace struct {
	net    *Network
	nz     []int       // indices of the current input's non-zero pixels
	as     [][]float64 // as[0] the input, as[l] the activations of layer l
	delta  [][]float64 // delta[l] the error of layer l+1
	nablaW [][]float64
	nablaB [][]float64
}

func newWorkspace(n *Network) *workspace {
	w := &workspace{net: n, nz: make([]int, 0, n.Sizes[0])}
	for l, s := range n.Sizes {
		w.as = append(w.as, make([]float64, s))
		if l > 0 {
			w.delta = append(w.delta, make([]float64, s))
			w.nablaB = append(w.nablaB, make([]float64, s))
			w.nablaW = append(w.nablaW, make([]float64, s*n.Sizes[l-1]))
		}
	}
	return w
}

// setInput loads an image as the input layer, pixel/255, and lists its
// non-zero pixels. MNIST digits are four-fifths background: the products
// with the input then only touch the ink. Skipping a zero input only skips
// adding w*0 = 0, so every sum is exactly the dense one.
func (w *workspace) setInput(px []byte) {
	a := w.as[0]
	w.nz = w.nz[:0]
	for k, p := range px {
		a[k] = pixelValue[p]
		if p != 0 {
			w.nz = append(w.nz, k)
		}
	}
}

// feedforward computes a^{l+1} = σ(w^{l+1} a^l + b^{l+1}) for every layer
// from the input set by setInput; the output is w.as[len-1].
func (w *workspace) feedforward() {
	n := w.net
	for l := range n.Weights {
		in, out := n.Sizes[l], n.Sizes[l+1]
		a, next := w.as[l], w.as[l+1]
		wt, b := n.Weights[l], n.Biases[l]
		for j := range out {
			row := wt[j*in : (j+1)*in]
			var z float64
			if l == 0 {
				for _, k := range w.nz {
					z += row[k] * a[k]
				}
			} else {
				for k, x := range a {
					z += row[k] * x
				}
			}
			next[j] = sigmoid(z + b[j])
		}
	}
}

// backprop adds the gradient of the quadratic cost ½‖a^L − y‖² for the
// current input with label y to nablaW and nablaB, following chapter 2:
// δ^L = (a^L − y) ⊙ σ'(z^L), δ^l = ((w^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l),
// ∂C/∂b^l = δ^l, ∂C/∂w^l = δ^l (a^{l-1})ᵀ. σ'(z) = σ(z)(1 − σ(z)) = a(1 − a).
func (w *workspace) backprop(y int) {
	n := w.net
	L := len(n.Weights)
	out := w.as[L]
	d := w.delta[L-1]
	for j, a := range out {
		t := 0.0
		if j == y {
			t = 1
		}
		d[j] = (a - t) * a * (1 - a)
	}
	for l := L - 1; l >= 0; l-- {
		in := n.Sizes[l]
		d := w.delta[l]
		aPrev := w.as[l]
		nb, nw := w.nablaB[l], w.nablaW[l]
		for j, dj := range d {
			nb[j] += dj
			row := nw[j*in : (j+1)*in]
			if l == 0 {
				for _, k := range w.nz {
					row[k] += dj * aPrev[k]
				}
			} else {
				for k, a := range aPrev {
					row[k] += dj * a
				}
			}
		}
		if l == 0 {
			break
		}
		// δ^l = (wᵀ δ) ⊙ σ'(z^l), with σ'(z^l) = a^l(1 − a^l).
		prev := w.delta[l-1]
		clear(prev)
		wt := n.Weights[l]
		for j, dj := range d {
			row := wt[j*in : (j+1)*in]
			for k := range prev {
				prev[k] += row[k] * dj
			}
		}
		for k, a := range aPrev {
			prev[k] *= a * (1 - a)
		}
	}
}

// TrainConfig holds the hyper-parameters of SGD and its progress hooks.
type TrainConfig struct {
	Epochs    int
	BatchSize int
	Eta       float64 // learning rate η
	// OnBatch, if set, is called after each mini-batch with the number of
	// training examples done so far in the epoch (1-based epoch).
	OnBatch func(epoch, done int)
	// OnEpoch, if set, is called after each epoch with the number of test
	// examples classified correctly (correct and total are 0 without a test
	// set) and the epoch's training time.
	OnEpoch func(epoch, correct, total int, elapsed time.Duration)
}

// SGD trains the network with mini-batch stochastic gradient descent as
// network.py's SGD does: each epoch shuffles the training data, splits it
// into mini-batches of BatchSize, and for each mini-batch of m examples
// moves w ← w − (η/m) Σ∂C/∂w and b ← b − (η/m) Σ∂C/∂b. After each epoch it
// evaluates the test set, if given. rng drives the shuffles, so a fixed seed
// gives the same network every run.
func (n *Network) SGD(train, test *Dataset, cfg TrainConfig, rng *rand.Rand) error {
	if cfg.Epochs < 0 || cfg.BatchSize <= 0 {
		return fmt.Errorf("sgd: %d epochs with mini-batches of %d", cfg.Epochs, cfg.BatchSize)
	}
	if err := n.checkData(train); err != nil {
		return fmt.Errorf("training set: %w", err)
	}
	if test != nil {
		if err := n.checkData(test); err != nil {
			return fmt.Errorf("test set: %w", err)
		}
	}
	if train.N == 0 {
		return errors.New("sgd: empty training set")
	}
	w := newWorkspace(n)
	order := make([]int, train.N)
	for i := range order {
		order[i] = i
	}
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < len(order); lo += cfg.BatchSize {
			batch := order[lo:min(lo+cfg.BatchSize, len(order))]
			w.updateMiniBatch(train, batch, cfg.Eta)
			if cfg.OnBatch != nil {
				cfg.OnBatch(epoch, lo+len(batch))
			}
		}
		elapsed := time.Since(start)
		if cfg.OnEpoch != nil {
			correct, total := 0, 0
			if test != nil {
				correct, total = w.evaluate(test), test.N
			}
			cfg.OnEpoch(epoch, correct, total, elapsed)
		}
	}
	return nil
}

func (w *workspace) updateMiniBatch(data *Dataset, batch []int, eta float64) {
	for l := range w.nablaW {
		clear(w.nablaW[l])
		clear(w.nablaB[l])
	}
	for _, i := range batch {
		w.setInput(data.Image(i))
		w.feedforward()
		w.backprop(int(data.Labels[i]))
	}
	r := eta / float64(len(batch))
	n := w.net
	for l := range n.Weights {
		wt, nw := n.Weights[l], w.nablaW[l]
		for i := range wt {
			wt[i] -= r * nw[i]
		}
		b, nb := n.Biases[l], w.nablaB[l]
		for i := range b {
			b[i] -= r * nb[i]
		}
	}
}

// evaluate returns how many examples the network classifies correctly: the
// output neuron with the highest activation (the first of equals) is the
// network's digit.
func (w *workspace) evaluate(data *Dataset) int {
	correct := 0
	for i := range data.N {
		w.setInput(data.Image(i))
		w.feedforward()
		if argmax64(w.as[len(w.as)-1]) == int(data.Labels[i]) {
			correct++
		}
	}
	return correct
}

// Evaluate returns how many examples of data the network classifies
// correctly.
func (n *Network) Evaluate(data *Dataset) (int, error) {
	if err := n.checkData(data); err != nil {
		return 0, err
	}
	return newWorkspace(n).evaluate(data), nil
}

// Feedforward returns the output activations for one image.
func (n *Network) Feedforward(px []byte) []float64 {
	w := newWorkspace(n)
	w.setInput(px)
	w.feedforward()
	return append([]float64(nil), w.as[len(w.as)-1]...)
}

func (n *Network) checkData(d *Dataset) error {
	if d == nil {
		return errors.New("no data")
	}
	if d.Rows*d.Cols != n.Sizes[0] {
		return fmt.Errorf("images of %dx%d pixels do not fit an input layer of %d", d.Rows, d.Cols, n.Sizes[0])
	}
	out := n.Sizes[len(n.Sizes)-1]
	for i, l := range d.Labels {
		if int(l) >= out {
			return fmt.Errorf("label %d of example %d has no output neuron (%d outputs)", l, i, out)
		}
	}
	return nil
}

func argmax64(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
