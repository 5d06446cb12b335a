package mnist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/infer-go/infer/internal/testref"
)

func loadMNIST(t *testing.T) (train, test *Dataset) {
	t.Helper()
	var err error
	train, err = Load(testref.Path(t, "mnist", "train-images-idx3-ubyte.gz"), testref.Path(t, "mnist", "train-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	test, err = Load(testref.Path(t, "mnist", "t10k-images-idx3-ubyte.gz"), testref.Path(t, "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

// TestSGDLearnsMNIST trains the book's [784, 30, 10] network on a subset of
// MNIST for two epochs: it must already classify most test digits.
func TestSGDLearnsMNIST(t *testing.T) {
	train, test := loadMNIST(t)
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := NewNetwork([]int{784, 30, 10}, rng)
	if err != nil {
		t.Fatal(err)
	}
	var accs []float64
	cfg := TrainConfig{Epochs: 2, BatchSize: 10, Eta: 3.0, OnEpoch: func(epoch, correct, total int, d time.Duration) {
		accs = append(accs, float64(correct)/float64(total))
		t.Logf("epoch %d: %d/%d in %v", epoch, correct, total, d)
	}}
	if err := net.SGD(train, test, cfg, rng); err != nil {
		t.Fatal(err)
	}
	if len(accs) != 2 || accs[1] < 0.90 {
		t.Fatalf("test accuracies %v after 2 epochs on 60000 images, want >= 0.90", accs)
	}
}

// TestBackpropGradient compares backprop's ∂C/∂w and ∂C/∂b with central
// finite differences of the quadratic cost C = ½‖a^L − y‖².
func TestBackpropGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	net, err := NewNetwork([]int{6, 4, 3}, rng)
	if err != nil {
		t.Fatal(err)
	}
	px := []byte{0, 40, 255, 0, 128, 7}
	const label = 2
	cost := func() float64 {
		out := net.Feedforward(px)
		c := 0.0
		for j, a := range out {
			y := 0.0
			if j == label {
				y = 1
			}
			c += 0.5 * (a - y) * (a - y)
		}
		return c
	}
	w := newWorkspace(net)
	w.setInput(px)
	w.feedforward()
	w.backprop(label)
	const h = 1e-6
	check := func(name string, p *float64, grad float64) {
		old := *p
		*p = old + h
		up := cost()
		*p = old - h
		down := cost()
		*p = old
		num := (up - down) / (2 * h)
		if math.Abs(num-grad) > 1e-7+1e-5*math.Abs(num) {
			t.Errorf("%s: backprop %.9g, finite difference %.9g", name, grad, num)
		}
	}
	for l := range net.Weights {
		for i := range net.Weights[l] {
			check(fmt.Sprintf("w[%d][%d]", l, i), &net.Weights[l][i], w.nablaW[l][i])
		}
		for i := range net.Biases[l] {
			check(fmt.Sprintf("b[%d][%d]", l, i), &net.Biases[l][i], w.nablaB[l][i])
		}
	}
}

// TestSGDDeterministic: the same seed trains the same network, bit for bit;
// another seed does not.
func TestSGDDeterministic(t *testing.T) {
	train, _ := loadMNIST(t)
	small := train.Subset(2000)
	run := func(seed uint64) *Network {
		rng := rand.New(rand.NewPCG(seed, 1))
		net, err := NewNetwork([]int{784, 16, 10}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := net.SGD(small, nil, TrainConfig{Epochs: 1, BatchSize: 10, Eta: 3}, rng); err != nil {
			t.Fatal(err)
		}
		return net
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a.Weights[0], b.Weights[0]) || !slices.Equal(a.Biases[1], b.Biases[1]) {
		t.Error("two runs with seed 1 differ")
	}
	if slices.Equal(a.Weights[0], c.Weights[0]) {
		t.Error("seeds 1 and 2 trained the same network")
	}
}

func TestNewNetworkErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sizes := range [][]int{nil, {784}, {784, 0, 10}, {-1, 10}} {
		if _, err := NewNetwork(sizes, rng); err == nil {
			t.Errorf("sizes %v: no error", sizes)
		}
	}
	net, _ := NewNetwork([]int{4, 2}, rng)
	ds := &Dataset{Images: Images{N: 1, Rows: 2, Cols: 2, Pixels: make([]byte, 4)}, Labels: []uint8{5}}
	if err := net.SGD(ds, nil, TrainConfig{Epochs: 1, BatchSize: 1, Eta: 1}, rng); err == nil {
		t.Error("label 5 for 2 outputs: no error")
	}
}

// BenchmarkSGDEpoch times one epoch of the book's settings on 1000
// synthetic MNIST-like images (a fifth of the pixels inked).
func BenchmarkSGDEpoch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 1000
	ds := &Dataset{Images: Images{N: n, Rows: 28, Cols: 28, Pixels: make([]byte, n*784)}, Labels: make([]uint8, n)}
	for i := range ds.Pixels {
		if rng.IntN(5) == 0 {
			ds.Pixels[i] = uint8(rng.IntN(256))
		}
	}
	for i := range ds.Labels {
		ds.Labels[i] = uint8(rng.IntN(10))
	}
	net, _ := NewNetwork([]int{784, 30, 10}, rng)
	cfg := TrainConfig{Epochs: 1, BatchSize: 10, Eta: 3}
	b.ResetTimer()
	for range b.N {
		net.SGD(ds, nil, cfg, rng)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
}
