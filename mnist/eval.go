package mnist

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/infer-go/infer/model"
)

// Evaluation is how a classifier did on a labelled data set.
type Evaluation struct {
	Classes   int
	Total     int
	Correct   int
	Confusion [][]int // Confusion[label][predicted]
	Elapsed   time.Duration
}

// Accuracy is the fraction classified correctly.
func (e *Evaluation) Accuracy() float64 {
	if e.Total == 0 {
		return 0
	}
	return float64(e.Correct) / float64(e.Total)
}

// ClassAccuracy is the fraction of the examples of one label classified
// correctly, and how many examples had that label.
func (e *Evaluation) ClassAccuracy(c int) (float64, int) {
	n := 0
	for _, v := range e.Confusion[c] {
		n += v
	}
	if n == 0 {
		return 0, 0
	}
	return float64(e.Confusion[c][c]) / float64(n), n
}

// ImagesPerSecond is the classification throughput.
func (e *Evaluation) ImagesPerSecond() float64 {
	if e.Elapsed <= 0 {
		return 0
	}
	return float64(e.Total) / e.Elapsed.Seconds()
}

// evalBatch is the number of images run through the network at once:
// enough to amortise converting each weight row, small enough to stay in
// cache.
const evalBatch = 256

// Evaluate classifies every image of data with m (the class is the output
// with the largest value, the first of equals) and tallies the results.
func Evaluate(m *model.MLP, data *Dataset) (*Evaluation, error) {
	if data.Rows*data.Cols != m.InputSize() {
		return nil, fmt.Errorf("images of %dx%d pixels, but the network takes %d inputs", data.Rows, data.Cols, m.InputSize())
	}
	classes := m.OutputSize()
	for i, l := range data.Labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("label %d of example %d has no output (%d outputs)", l, i, classes)
		}
	}
	e := &Evaluation{Classes: classes, Total: data.N, Confusion: make([][]int, classes)}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, classes)
	}
	in := m.InputSize()
	x := make([]float32, evalBatch*in)
	out := make([]float32, evalBatch*classes)
	start := time.Now()
	for lo := 0; lo < data.N; lo += evalBatch {
		n := min(evalBatch, data.N-lo)
		m.PixelsToInput(x[:n*in], data.Pixels[lo*in:(lo+n)*in])
		if err := m.Forward(out[:n*classes], x[:n*in], n); err != nil {
			return nil, err
		}
		for r := range n {
			pred := Argmax(out[r*classes : (r+1)*classes])
			label := int(data.Labels[lo+r])
			e.Confusion[label][pred]++
			if pred == label {
				e.Correct++
			}
		}
	}
	e.Elapsed = time.Since(start)
	return e, nil
}

// Argmax returns the index of the largest value, the first of equals.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Report writes the accuracy line, per-class accuracy, the confusion matrix
// and the throughput.
func (e *Evaluation) Report(w io.Writer) {
	fmt.Fprintf(w, "accuracy %.2f%% (%d/%d)\n\n", 100*e.Accuracy(), e.Correct, e.Total)
	fmt.Fprintln(w, "per class:")
	for c := range e.Classes {
		acc, n := e.ClassAccuracy(c)
		fmt.Fprintf(w, "  %d  %6.2f%%  (%d/%d)\n", c, 100*acc, e.Confusion[c][c], n)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "confusion matrix (rows: label, columns: predicted):")
	var sb strings.Builder
	sb.WriteString("      ")
	for c := range e.Classes {
		fmt.Fprintf(&sb, "%6d", c)
	}
	fmt.Fprintln(w, sb.String())
	for r := range e.Classes {
		sb.Reset()
		fmt.Fprintf(&sb, "  %2d  ", r)
		for c := range e.Classes {
			fmt.Fprintf(&sb, "%6d", e.Confusion[r][c])
		}
		fmt.Fprintln(w, sb.String())
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%.0f images/s (%d images in %v)\n", e.ImagesPerSecond(), e.Total, e.Elapsed.Round(time.Millisecond))
}
