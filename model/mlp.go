// The mlp architecture: fully connected networks that classify images, such
// as the MNIST digit networks of Nielsen's "Neural Networks and Deep
// Learning" or a PyTorch nn.Linear stack. Quantized weights run through
// ops.MatMul, the kernels of the language models.
//
// # GGUF layout (general.architecture = "mlp")
//
// Metadata:
//
//	mlp.layer_count   uint32    L, the number of weight layers (>= 1)
//	mlp.sizes         [uint32]  L+1 layer widths, input first: 784, 30, 10
//	mlp.activations   [string]  L names, one per weight layer, applied to
//	                            its output: "sigmoid", "relu", "tanh",
//	                            "softmax" (output layer only) or "none"
//	mlp.input.height  uint32    the input image's rows    (28)
//	mlp.input.width   uint32    the input image's columns (28);
//	                            height*width = mlp.sizes[0]
//	mlp.input.mean    float32   optional, default 0
//	mlp.input.std     float32   optional, default 1: the input is
//	                            x = (pixel/255 - mean) / std, pixels 0
//	                            (background) .. 255 (ink), row-major
//
// Tensors, for layer l = 0 .. L-1 (n_in = mlp.sizes[l], n_out = mlp.sizes[l+1]):
//
//	layer.l.weight  dims [n_in_padded, n_out], any type ops.MatMul takes
//	                (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL,
//	                K-quants): n_out rows of n_in_padded values, row j
//	                holding the weights into output neuron j (PyTorch's and
//	                Nielsen's (out, in) matrix, unchanged)
//	layer.l.bias    dims [n_out], F32 (or F16)
//
// Block formats need rows that are whole blocks (32 values for Q8_0 and
// Q4_0, 256 for K-quants), and MNIST's 784 inputs are 24.5 blocks of 32. So
// a row may be longer than n_in: n_in_padded >= n_in (by less than 256),
// the columns past n_in are written as zeros, and the loader feeds those
// columns zeros too, so the padding changes no sum. The padded width is recorded by the tensor's own
// ne0; infer convert pads to the weight type's block size (784 -> 800 for
// Q8_0/Q4_0, 30 -> 32) and F32/F16 weights are never padded. This keeps the
// large first layer quantizable, where llama-quantize's fallback (keeping
// such tensors F16) would keep almost the whole model unquantized.

package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// MLPArchitecture is general.architecture of an mlp GGUF.
const MLPArchitecture = "mlp"

// MLPActivation is the function a layer applies to its outputs.
type MLPActivation uint8

const (
	MLPNone MLPActivation = iota
	MLPSigmoid
	MLPReLU
	MLPTanh
	MLPSoftmax
)

var mlpActivationNames = [...]string{MLPNone: "none", MLPSigmoid: "sigmoid", MLPReLU: "relu", MLPTanh: "tanh", MLPSoftmax: "softmax"}

func (a MLPActivation) String() string {
	if int(a) < len(mlpActivationNames) {
		return mlpActivationNames[a]
	}
	return fmt.Sprintf("MLPActivation(%d)", a)
}

// ParseMLPActivation returns the activation with the given name ("identity"
// and "linear" are accepted for "none").
func ParseMLPActivation(name string) (MLPActivation, error) {
	switch name {
	case "identity", "linear":
		return MLPNone, nil
	}
	for a, n := range mlpActivationNames {
		if n == name {
			return MLPActivation(a), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want sigmoid, relu, tanh, softmax or none)", name)
}

// MLPLayer is one fully connected layer: out = act(W·in + b).
type MLPLayer struct {
	In, Out    int        // logical widths; Weight.Cols >= In (padding)
	Weight     ops.Matrix // Out rows of Weight.Cols values
	Bias       []float32
	Activation MLPActivation
}

// MLP is a loaded mlp GGUF; the format is described at the top of
// model/mlp.go. Forward may be called from one goroutine at a time per pool.
type MLP struct {
	Sizes                   []int
	Layers                  []MLPLayer
	InputHeight, InputWidth int
	InputMean, InputStd     float32
	pool                    *ops.Pool
}

// maxMLPWidth bounds a layer's width so a corrupt header cannot make Forward
// allocate absurd buffers; the tensors' sizes are checked as well.
const maxMLPWidth = 1 << 24

// LoadMLP binds an mlp GGUF's weights (views into f's data, nothing large
// is copied) and checks every tensor against the metadata. pool runs the
// matrix products; nil runs them on the calling goroutine.
func LoadMLP(f *gguf.File, pool *ops.Pool) (*MLP, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	if arch != MLPArchitecture {
		return nil, fmt.Errorf("general.architecture is %q, not %q", arch, MLPArchitecture)
	}
	count, err := f.Uint32("mlp.layer_count")
	if err != nil {
		return nil, err
	}
	sizes32, err := f.Int32s("mlp.sizes")
	if err != nil {
		return nil, err
	}
	acts, err := f.Strings("mlp.activations")
	if err != nil {
		return nil, err
	}
	if count == 0 || int(count)+1 != len(sizes32) || int(count) != len(acts) {
		return nil, fmt.Errorf("mlp.layer_count %d needs %d mlp.sizes (have %d) and %d mlp.activations (have %d)",
			count, count+1, len(sizes32), count, len(acts))
	}
	m := &MLP{pool: pool, InputStd: 1}
	for _, s := range sizes32 {
		if s <= 0 || s > maxMLPWidth {
			return nil, fmt.Errorf("mlp.sizes %v: width %d out of range 1..%d", sizes32, s, maxMLPWidth)
		}
		m.Sizes = append(m.Sizes, int(s))
	}
	h, err := f.Uint32("mlp.input.height")
	if err != nil {
		return nil, err
	}
	w, err := f.Uint32("mlp.input.width")
	if err != nil {
		return nil, err
	}
	if uint64(h)*uint64(w) != uint64(m.Sizes[0]) {
		return nil, fmt.Errorf("mlp.input.height x width = %d x %d, but the input layer has %d values", h, w, m.Sizes[0])
	}
	m.InputHeight, m.InputWidth = int(h), int(w)
	if m.InputMean, err = optionalFloat32(f, "mlp.input.mean", 0); err != nil {
		return nil, err
	}
	if m.InputStd, err = optionalFloat32(f, "mlp.input.std", 1); err != nil {
		return nil, err
	}
	if !(m.InputStd > 0) || math.IsInf(float64(m.InputStd), 0) || math.IsNaN(float64(m.InputMean)) || math.IsInf(float64(m.InputMean), 0) {
		return nil, fmt.Errorf("mlp.input.mean %v / std %v: want a finite mean and a positive std", m.InputMean, m.InputStd)
	}
	for l := range int(count) {
		act, err := ParseMLPActivation(acts[l])
		if err != nil {
			return nil, fmt.Errorf("mlp.activations[%d]: %w", l, err)
		}
		if act == MLPSoftmax && l != int(count)-1 {
			return nil, fmt.Errorf("mlp.activations[%d]: softmax is only for the output layer", l)
		}
		layer, err := bindMLPLayer(f, l, m.Sizes[l], m.Sizes[l+1])
		if err != nil {
			return nil, err
		}
		layer.Activation = act
		m.Layers = append(m.Layers, layer)
	}
	return m, nil
}

func optionalFloat32(f *gguf.File, key string, def float32) (float32, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.Float32(key)
}

func bindMLPLayer(f *gguf.File, l, in, out int) (MLPLayer, error) {
	layer := MLPLayer{In: in, Out: out}
	name := fmt.Sprintf("layer.%d.weight", l)
	t, ok := f.Tensor(name)
	if !ok {
		return layer, fmt.Errorf("tensor %q: missing", name)
	}
	if len(t.Dims) < 2 || !mlpTrailingOnes(t.Dims, 2) || t.Dims[1] != uint64(out) || t.Dims[0] < uint64(in) {
		return layer, fmt.Errorf("tensor %q: shape %v, want [%d (or more, zero-padded), %d] for mlp.sizes %d -> %d", name, t.Dims, in, out, in, out)
	}
	cols := t.Dims[0]
	if cols-uint64(in) >= 256 {
		return layer, fmt.Errorf("tensor %q: %d columns for %d inputs: more padding than any block needs", name, cols, in)
	}
	if err := ops.CheckMatrixType(t.Type); err != nil {
		return layer, fmt.Errorf("tensor %q: %w", name, err)
	}
	rowSize, err := t.Type.RowSize(int(cols))
	if err != nil {
		return layer, fmt.Errorf("tensor %q: %w", name, err)
	}
	if uint64(len(t.Data)) != uint64(rowSize)*uint64(out) {
		return layer, fmt.Errorf("tensor %q: %d bytes of data, want %d", name, len(t.Data), rowSize*out)
	}
	layer.Weight = ops.Matrix{Type: t.Type, Rows: out, Cols: int(cols), Data: t.Data}

	name = fmt.Sprintf("layer.%d.bias", l)
	b, ok := f.Tensor(name)
	if !ok {
		return layer, fmt.Errorf("tensor %q: missing", name)
	}
	if len(b.Dims) < 1 || !mlpTrailingOnes(b.Dims, 1) || b.Dims[0] != uint64(out) {
		return layer, fmt.Errorf("tensor %q: shape %v, want [%d]", name, b.Dims, out)
	}
	if b.Type != quant.F32 && b.Type != quant.F16 {
		return layer, fmt.Errorf("tensor %q: type %v, want F32 or F16", name, b.Type)
	}
	layer.Bias = make([]float32, out)
	if err := quant.Dequantize(b.Type, layer.Bias, b.Data); err != nil {
		return layer, fmt.Errorf("tensor %q: %w", name, err)
	}
	return layer, nil
}

// mlpTrailingOnes reports whether every dimension from the n-th on is 1.
func mlpTrailingOnes(dims []uint64, n int) bool {
	for _, d := range dims[min(n, len(dims)):] {
		if d != 1 {
			return false
		}
	}
	return true
}

// InputSize is the number of values of one input.
func (m *MLP) InputSize() int { return m.Sizes[0] }

// OutputSize is the number of outputs (classes).
func (m *MLP) OutputSize() int { return m.Sizes[len(m.Sizes)-1] }

// OutputActivation is the output layer's activation.
func (m *MLP) OutputActivation() MLPActivation { return m.Layers[len(m.Layers)-1].Activation }

// PixelsToInput writes the network's input for grey pixels (0 background ..
// 255 ink): (pixel/255 - mean)/std, computed in float64 so that with the
// default mean and std it is exactly float32(pixel/255.0).
func (m *MLP) PixelsToInput(dst []float32, px []byte) {
	mean, std := float64(m.InputMean), float64(m.InputStd)
	for i, p := range px {
		dst[i] = float32((float64(p)/255 - mean) / std)
	}
}

// Forward runs n inputs (x: n rows of InputSize values) through the network
// and writes n rows of OutputSize values to out.
func (m *MLP) Forward(out, x []float32, n int) error {
	if n < 0 || len(x) != n*m.InputSize() || len(out) != n*m.OutputSize() {
		return fmt.Errorf("mlp forward: %d inputs of %d values (have %d) into %d outputs of %d (have %d)",
			n, m.InputSize(), len(x), n, m.OutputSize(), len(out))
	}
	if n == 0 {
		return nil
	}
	cur := x
	for l := range m.Layers {
		layer := &m.Layers[l]
		in := cur
		if layer.Weight.Cols != layer.In {
			// Padding columns get zeros, so the zero weights there add nothing.
			in = make([]float32, n*layer.Weight.Cols)
			for r := range n {
				copy(in[r*layer.Weight.Cols:], cur[r*layer.In:(r+1)*layer.In])
			}
		}
		dst := out
		if l < len(m.Layers)-1 {
			dst = make([]float32, n*layer.Out)
		}
		ops.MatMul(m.pool, dst, layer.Weight, in, n)
		for r := range n {
			row := dst[r*layer.Out : (r+1)*layer.Out]
			for j := range row {
				row[j] += layer.Bias[j]
			}
			applyMLPActivation(layer.Activation, row)
		}
		cur = dst
	}
	return nil
}

func applyMLPActivation(a MLPActivation, v []float32) {
	switch a {
	case MLPSigmoid:
		for i, z := range v {
			v[i] = float32(1 / (1 + math.Exp(-float64(z))))
		}
	case MLPReLU:
		for i, z := range v {
			v[i] = max(z, 0)
		}
	case MLPTanh:
		for i, z := range v {
			v[i] = float32(math.Tanh(float64(z)))
		}
	case MLPSoftmax:
		softmaxMLP(v, v)
	}
}

// softmaxMLP writes softmax(src) to dst in float64, shifted by the maximum
// so large logits do not overflow.
func softmaxMLP(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	top := src[0]
	for _, z := range src {
		top = max(top, z)
	}
	var sum float64
	for i, z := range src {
		e := math.Exp(float64(z - top))
		dst[i] = float32(e)
		sum += e
	}
	for i := range dst {
		dst[i] = float32(float64(dst[i]) / sum)
	}
}

// Probabilities turns one row of outputs into class probabilities: softmax
// outputs as they are, logits (activation none) through a softmax, and other
// activations (Nielsen's sigmoid outputs) normalised to sum to 1.
func (m *MLP) Probabilities(dst, out []float32) error {
	if len(dst) != len(out) || len(out) != m.OutputSize() {
		return errors.New("mlp probabilities: want one row of outputs")
	}
	switch m.OutputActivation() {
	case MLPSoftmax:
		copy(dst, out)
	case MLPNone:
		softmaxMLP(dst, out)
	default:
		var sum float64
		for _, v := range out {
			sum += math.Max(float64(v), 0)
		}
		for i, v := range out {
			if sum > 0 {
				dst[i] = float32(math.Max(float64(v), 0) / sum)
			} else {
				dst[i] = float32(1 / float64(len(out)))
			}
		}
	}
	return nil
}
