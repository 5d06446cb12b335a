package convert

// Multi-layer perceptrons from numpy .npz archives (Nielsen's layout) and
// PyTorch state_dicts of Linear layers, written as infer's mlp
// architecture.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// MLP is a fully connected network ready to be written as an mlp GGUF (the
// format is described in model/mlp.go).
type MLP struct {
	Name                    string // general.name
	Sizes                   []int  // layer widths, input first
	Activations             []model.MLPActivation
	InputHeight, InputWidth int
	InputMean, InputStd     float32
	// Weights[l] holds Sizes[l+1] rows of Sizes[l] values (out x in, as
	// PyTorch and Nielsen store them); Biases[l] Sizes[l+1] values.
	Weights [][]float32
	Biases  [][]float32
}

// MLPOptions are the choices a source file does not record.
type MLPOptions struct {
	// Hidden is the activation of each hidden layer: one name for all, or one
	// per hidden layer. Empty: the source's default (sigmoid for .npz, as in
	// Nielsen's network; relu for PyTorch).
	Hidden []string
	// Softmax makes the output layer a softmax. Otherwise the output keeps the
	// source's default: sigmoid for .npz, none (logits) for PyTorch.
	Softmax bool
	// InputHeight x InputWidth is the input image's shape; 0: 28x28 for 784
	// inputs, else a square when the input size is one, else 1 x n.
	InputHeight, InputWidth int
	// InputMean and InputStd normalise pixel/255; zero values mean 0 and 1.
	InputMean, InputStd float32
	Name                string
}

// newMLP assembles an MLP from its layers, applying opts.
func newMLP(weights, biases [][]float32, sizes []int, hiddenDefault, outDefault model.MLPActivation, opts MLPOptions) (*MLP, error) {
	m := &MLP{Name: opts.Name, Sizes: sizes, Weights: weights, Biases: biases, InputMean: opts.InputMean, InputStd: opts.InputStd}
	if m.InputStd == 0 {
		m.InputStd = 1
	}
	L := len(weights)
	hidden := make([]model.MLPActivation, L-1)
	for i := range hidden {
		hidden[i] = hiddenDefault
	}
	switch {
	case len(opts.Hidden) == 0:
	case len(opts.Hidden) == 1 || len(opts.Hidden) == L-1:
		for i := range hidden {
			name := opts.Hidden[min(i, len(opts.Hidden)-1)]
			a, err := model.ParseMLPActivation(name)
			if err != nil {
				return nil, err
			}
			if a == model.MLPSoftmax {
				return nil, errors.New("softmax is only for the output layer (--softmax)")
			}
			hidden[i] = a
		}
	default:
		return nil, fmt.Errorf("%d hidden activations for %d hidden layers", len(opts.Hidden), L-1)
	}
	out := outDefault
	if opts.Softmax {
		out = model.MLPSoftmax
	}
	m.Activations = append(hidden, out)
	m.InputHeight, m.InputWidth = opts.InputHeight, opts.InputWidth
	if m.InputHeight == 0 && m.InputWidth == 0 {
		m.InputHeight, m.InputWidth = defaultInputShape(sizes[0])
	}
	return m, m.Check()
}

func defaultInputShape(n int) (h, w int) {
	if r := int(math.Sqrt(float64(n))); r*r == n {
		return r, r
	}
	return 1, n
}

// Check verifies that the network is consistent.
func (m *MLP) Check() error {
	L := len(m.Weights)
	if L == 0 || len(m.Sizes) != L+1 || len(m.Biases) != L || len(m.Activations) != L {
		return fmt.Errorf("mlp: %d weight matrices, %d biases, %d activations for sizes %v", L, len(m.Biases), len(m.Activations), m.Sizes)
	}
	for l := range L {
		in, out := m.Sizes[l], m.Sizes[l+1]
		if in <= 0 || out <= 0 {
			return fmt.Errorf("mlp: sizes %v", m.Sizes)
		}
		if len(m.Weights[l]) != in*out || len(m.Biases[l]) != out {
			return fmt.Errorf("mlp: layer %d has %d weights and %d biases, want %dx%d and %d", l, len(m.Weights[l]), len(m.Biases[l]), out, in, out)
		}
		if m.Activations[l] == model.MLPSoftmax && l != L-1 {
			return fmt.Errorf("mlp: softmax on hidden layer %d", l)
		}
	}
	if m.InputHeight*m.InputWidth != m.Sizes[0] {
		return fmt.Errorf("mlp: input shape %dx%d for %d inputs", m.InputHeight, m.InputWidth, m.Sizes[0])
	}
	if !(m.InputStd > 0) {
		return fmt.Errorf("mlp: input std %v", m.InputStd)
	}
	return nil
}

// CheckWeightType reports whether an MLP's weights can be stored as t: it
// needs a quantizer and a matrix kernel.
func CheckWeightType(t quant.Type) error {
	if !t.Known() || t.Traits().Quantize == nil {
		return fmt.Errorf("type %v: infer cannot quantize to it", t)
	}
	if err := ops.CheckMatrixType(t); err != nil {
		return err
	}
	return nil
}

// WriteGGUF writes the network as an mlp GGUF with weights of type typ
// (biases stay F32). Rows are zero-padded to whole blocks of typ; the file
// appears atomically, and not at all on error.
func (m *MLP) WriteGGUF(path string, typ quant.Type) error {
	if err := m.Check(); err != nil {
		return err
	}
	if err := CheckWeightType(typ); err != nil {
		return err
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf(model.MLPArchitecture))
	if m.Name != "" {
		w.AddKV("general.name", gguf.ValueOf(m.Name))
	}
	L := len(m.Weights)
	sizes := make([]uint32, len(m.Sizes))
	for i, s := range m.Sizes {
		sizes[i] = uint32(s)
	}
	acts := make([]string, L)
	for i, a := range m.Activations {
		acts[i] = a.String()
	}
	w.AddKV("mlp.layer_count", gguf.ValueOf(uint32(L)))
	w.AddKV("mlp.sizes", gguf.ValueOf(sizes))
	w.AddKV("mlp.activations", gguf.ValueOf(acts))
	w.AddKV("mlp.input.height", gguf.ValueOf(uint32(m.InputHeight)))
	w.AddKV("mlp.input.width", gguf.ValueOf(uint32(m.InputWidth)))
	w.AddKV("mlp.input.mean", gguf.ValueOf(m.InputMean))
	w.AddKV("mlp.input.std", gguf.ValueOf(m.InputStd))
	for l := range L {
		in, out := m.Sizes[l], m.Sizes[l+1]
		cols, data, err := encodeMatrix(m.Weights[l], out, in, typ)
		if err != nil {
			return fmt.Errorf("layer %d: %w", l, err)
		}
		if err := w.AddTensor(fmt.Sprintf("layer.%d.weight", l), typ, []uint64{uint64(cols), uint64(out)}, data); err != nil {
			return err
		}
		bias := make([]byte, 4*out)
		quant.QuantizeF32(bias, m.Biases[l])
		if err := w.AddTensor(fmt.Sprintf("layer.%d.bias", l), quant.F32, []uint64{uint64(out)}, bias); err != nil {
			return err
		}
	}
	return w.WriteFile(path)
}

// encodeMatrix stores rows x cols values as typ, padding each row with zeros
// to a whole number of typ's blocks; it returns the padded row length.
func encodeMatrix(v []float32, rows, cols int, typ quant.Type) (int, []byte, error) {
	bs := typ.BlockSize()
	padded := (cols + bs - 1) / bs * bs
	src := v
	if padded != cols {
		src = make([]float32, rows*padded)
		for r := range rows {
			copy(src[r*padded:], v[r*cols:(r+1)*cols])
		}
	}
	rowSize, err := typ.RowSize(padded)
	if err != nil {
		return 0, nil, err
	}
	dst := make([]byte, rows*rowSize)
	if err := quant.Quantize(typ, dst, src); err != nil {
		return 0, nil, err
	}
	return padded, dst, nil
}

// MLPFromNPZ reads a network saved the way Nielsen's network.py keeps one:
// arrays w0, b0, w1, b1, ... with weights (out, in) and biases (out, 1) or
// (out,), any float dtype.
func MLPFromNPZ(path string, opts MLPOptions) (*MLP, error) {
	z, err := source.ReadNPZ(path)
	if err != nil {
		return nil, err
	}
	var weights, biases [][]float32
	var sizes []int
	for l := 0; ; l++ {
		wn, bn := "w"+strconv.Itoa(l), "b"+strconv.Itoa(l)
		w, ok := z.Arrays[wn]
		if !ok {
			if l == 0 {
				return nil, fmt.Errorf("%s: no array w0: not an MLP in Nielsen's layout (w0, b0, w1, b1, ...); arrays: %s", path, strings.Join(z.Names, ", "))
			}
			break
		}
		b, ok := z.Arrays[bn]
		if !ok {
			return nil, fmt.Errorf("%s: array %s has no bias %s", path, wn, bn)
		}
		if len(w.Shape) != 2 || w.Shape[0] == 0 || w.Shape[1] == 0 {
			return nil, fmt.Errorf("%s: %s has shape %v, want (out, in)", path, wn, w.Shape)
		}
		out, in := w.Shape[0], w.Shape[1]
		if !(len(b.Shape) == 1 && b.Shape[0] == out) && !(len(b.Shape) == 2 && b.Shape[0] == out && b.Shape[1] == 1) {
			return nil, fmt.Errorf("%s: %s has shape %v, want (%d, 1) for %s of shape %v", path, bn, b.Shape, out, wn, w.Shape)
		}
		if l == 0 {
			sizes = append(sizes, in)
		} else if in != sizes[l] {
			return nil, fmt.Errorf("%s: %s has shape %v, but layer %d has %d outputs", path, wn, w.Shape, l-1, sizes[l])
		}
		sizes = append(sizes, out)
		wf, err := w.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, wn, err)
		}
		bf, err := b.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, bn, err)
		}
		weights, biases = append(weights, wf), append(biases, bf)
	}
	for _, n := range z.Names {
		l, err := strconv.Atoi(strings.TrimLeft(n, "wb"))
		if err != nil || l < 0 || l >= len(weights) || (n != "w"+strconv.Itoa(l) && n != "b"+strconv.Itoa(l)) {
			return nil, fmt.Errorf("%s: array %q is not part of an MLP in Nielsen's layout (w0, b0, w1, b1, ...)", path, n)
		}
	}
	if opts.Name == "" {
		opts.Name = baseName(path)
	}
	return newMLP(weights, biases, sizes, model.MLPSigmoid, model.MLPSigmoid, opts)
}

// MLPFromTorch reads a PyTorch state_dict of Linear layers (fc1, fc2, fc3 or
// any names): each 2-D "X.weight" (out, in) with its "X.bias", in the
// state_dict's order, which is the order the modules were registered. A
// checkpoint dict holding the state_dict under "state_dict",
// "model_state_dict" or "model" works too.
func MLPFromTorch(path string, opts MLPOptions) (*MLP, error) {
	f, err := source.OpenTorch(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sd := f.Root
	for _, k := range []string{"state_dict", "model_state_dict", "model"} {
		if v, err := f.Get(k); err == nil {
			if _, ok := source.TorchItems(v); ok {
				sd = v
				break
			}
		}
	}
	items, ok := source.TorchItems(sd)
	if !ok {
		return nil, fmt.Errorf("%s: the checkpoint is not a state_dict (a dict of tensors)", path)
	}
	tensors := map[string]*source.TorchTensor{}
	var order []string
	for _, it := range items {
		name, isStr := it.Key.(string)
		t, isTensor := it.Value.(*source.TorchTensor)
		if !isStr || !isTensor {
			return nil, fmt.Errorf("%s: state_dict entry %v is not a named tensor", path, it.Key)
		}
		tensors[name] = t
		order = append(order, name)
	}
	var weights, biases [][]float32
	var sizes []int
	used := map[string]bool{}
	for _, name := range order {
		prefix, ok := strings.CutSuffix(name, ".weight")
		if !ok {
			continue
		}
		w := tensors[name]
		if len(w.Shape) != 2 || w.Shape[0] == 0 || w.Shape[1] == 0 {
			return nil, fmt.Errorf("%s: %s has shape %v, want (out, in) of a Linear layer", path, name, w.Shape)
		}
		out, in := w.Shape[0], w.Shape[1]
		b, ok := tensors[prefix+".bias"]
		if !ok {
			return nil, fmt.Errorf("%s: Linear layer %s has no %s.bias", path, prefix, prefix)
		}
		if len(b.Shape) != 1 || b.Shape[0] != out {
			return nil, fmt.Errorf("%s: %s.bias has shape %v, want (%d)", path, prefix, b.Shape, out)
		}
		l := len(weights)
		if l == 0 {
			sizes = append(sizes, in)
		} else if in != sizes[l] {
			return nil, fmt.Errorf("%s: %s has shape %v, but the previous layer has %d outputs", path, name, w.Shape, sizes[l])
		}
		sizes = append(sizes, out)
		wf, err := w.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		bf, err := b.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s.bias: %w", path, prefix, err)
		}
		weights, biases = append(weights, wf), append(biases, bf)
		used[name], used[prefix+".bias"] = true, true
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("%s: no Linear layers (X.weight with X.bias) in the state_dict", path)
	}
	for _, name := range order {
		if !used[name] {
			return nil, fmt.Errorf("%s: tensor %s is not part of a Linear layer: not a plain MLP", path, name)
		}
	}
	if opts.Name == "" {
		opts.Name = baseName(path)
	}
	return newMLP(weights, biases, sizes, model.MLPReLU, model.MLPNone, opts)
}

func baseName(path string) string {
	base := path[strings.LastIndexAny(path, `/\`)+1:]
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}
