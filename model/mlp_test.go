package model

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// mlpSpec is a small network written straight to GGUF by the test, so the
// loader is checked against the format description, not against the
// converter.
type mlpSpec struct {
	sizes   []int
	acts    []string
	typ     quant.Type
	pad     int     // padding columns per weight row
	padFill float32 // the value written into them (the loader must ignore it)
	weights [][]float32
	biases  [][]float32
	// edit changes the metadata or tensors before writing, for error cases.
	edit func(kv map[string]gguf.Value, tensors map[string]mlpTensor)
}

type mlpTensor struct {
	typ  quant.Type
	dims []uint64
	data []byte
}

func randomMLP(sizes []int, acts []string, seed uint64) *mlpSpec {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &mlpSpec{sizes: sizes, acts: acts, typ: quant.F32}
	for l := range len(sizes) - 1 {
		w := make([]float32, sizes[l]*sizes[l+1])
		for i := range w {
			w[i] = float32(rng.NormFloat64() / math.Sqrt(float64(sizes[l])))
		}
		b := make([]float32, sizes[l+1])
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 0.1)
		}
		s.weights, s.biases = append(s.weights, w), append(s.biases, b)
	}
	return s
}

func (s *mlpSpec) write(t *testing.T) string {
	t.Helper()
	L := len(s.weights)
	sizes := make([]uint32, len(s.sizes))
	for i, v := range s.sizes {
		sizes[i] = uint32(v)
	}
	kv := map[string]gguf.Value{
		"general.architecture": gguf.ValueOf("mlp"),
		"mlp.layer_count":      gguf.ValueOf(uint32(L)),
		"mlp.sizes":            gguf.ValueOf(sizes),
		"mlp.activations":      gguf.ValueOf(s.acts),
		"mlp.input.height":     gguf.ValueOf(uint32(1)),
		"mlp.input.width":      gguf.ValueOf(uint32(s.sizes[0])),
	}
	keys := []string{"general.architecture", "mlp.layer_count", "mlp.sizes", "mlp.activations", "mlp.input.height", "mlp.input.width"}
	tensors := map[string]mlpTensor{}
	var names []string
	for l := range L {
		in, out := s.sizes[l], s.sizes[l+1]
		cols := in + s.pad
		if bs := s.typ.BlockSize(); cols%bs != 0 {
			cols += bs - cols%bs // whole blocks, as the format requires
		}
		src := make([]float32, out*cols)
		for r := range out {
			copy(src[r*cols:], s.weights[l][r*in:(r+1)*in])
			for c := in; c < cols; c++ {
				src[r*cols+c] = s.padFill
			}
		}
		rowSize, err := s.typ.RowSize(cols)
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, out*rowSize)
		if err := quant.Quantize(s.typ, data, src); err != nil {
			t.Fatal(err)
		}
		bias := make([]byte, 4*out)
		quant.QuantizeF32(bias, s.biases[l])
		wn, bn := "layer."+itoa(l)+".weight", "layer."+itoa(l)+".bias"
		tensors[wn] = mlpTensor{s.typ, []uint64{uint64(cols), uint64(out)}, data}
		tensors[bn] = mlpTensor{quant.F32, []uint64{uint64(out)}, bias}
		names = append(names, wn, bn)
	}
	if s.edit != nil {
		s.edit(kv, tensors)
	}
	w := gguf.NewWriter()
	for _, k := range keys {
		if v, ok := kv[k]; ok {
			w.AddKV(k, v)
			delete(kv, k)
		}
	}
	for k, v := range kv {
		w.AddKV(k, v)
	}
	for _, n := range names {
		if tt, ok := tensors[n]; ok {
			if err := w.AddTensor(n, tt.typ, tt.dims, tt.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "mlp.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(i int) string { return string(rune('0' + i)) }

func loadSpec(t *testing.T, s *mlpSpec) (*MLP, error) {
	t.Helper()
	data, err := os.ReadFile(s.write(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return LoadMLP(f, nil)
}

// forward64 is the network in float64, straight from the definitions.
func (s *mlpSpec) forward64(x []float32) []float64 {
	a := make([]float64, len(x))
	for i, v := range x {
		a[i] = float64(v)
	}
	for l := range s.weights {
		in, out := s.sizes[l], s.sizes[l+1]
		z := make([]float64, out)
		for j := range out {
			sum := float64(s.biases[l][j])
			for k := range in {
				sum += float64(s.weights[l][j*in+k]) * a[k]
			}
			z[j] = sum
		}
		switch s.acts[l] {
		case "sigmoid":
			for j := range z {
				z[j] = 1 / (1 + math.Exp(-z[j]))
			}
		case "relu":
			for j := range z {
				z[j] = math.Max(z[j], 0)
			}
		case "tanh":
			for j := range z {
				z[j] = math.Tanh(z[j])
			}
		case "softmax":
			top := math.Inf(-1)
			for _, v := range z {
				top = math.Max(top, v)
			}
			sum := 0.0
			for j := range z {
				z[j] = math.Exp(z[j] - top)
				sum += z[j]
			}
			for j := range z {
				z[j] /= sum
			}
		}
		a = z
	}
	return a
}

func TestMLPForward(t *testing.T) {
	tests := []struct {
		name    string
		sizes   []int
		acts    []string
		typ     quant.Type
		pad     int
		padFill float32
		tol     float64
	}{
		{"f32 sigmoid", []int{40, 7, 5}, []string{"sigmoid", "sigmoid"}, quant.F32, 0, 0, 1e-6},
		{"f32 relu tanh softmax", []int{12, 9, 6, 4}, []string{"relu", "tanh", "softmax"}, quant.F32, 0, 0, 1e-6},
		{"f32 padded columns are ignored", []int{40, 7, 5}, []string{"relu", "none"}, quant.F32, 8, 1e6, 1e-5},
		{"f16", []int{40, 7, 5}, []string{"relu", "none"}, quant.F16, 0, 0, 2e-3},
		{"q8_0 padded", []int{40, 30, 5}, []string{"sigmoid", "sigmoid"}, quant.Q8_0, 0, 0, 5e-3},
		{"q4_0 padded", []int{40, 30, 5}, []string{"relu", "softmax"}, quant.Q4_0, 0, 0, 3e-2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := randomMLP(tt.sizes, tt.acts, 3)
			s.typ, s.pad, s.padFill = tt.typ, tt.pad, tt.padFill
			m, err := loadSpec(t, s)
			if err != nil {
				t.Fatal(err)
			}
			const n = 5
			rng := rand.New(rand.NewPCG(9, 9))
			x := make([]float32, n*tt.sizes[0])
			for i := range x {
				x[i] = float32(rng.Float64())
			}
			out := make([]float32, n*m.OutputSize())
			if err := m.Forward(out, x, n); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for r := range n {
				want := s.forward64(x[r*tt.sizes[0] : (r+1)*tt.sizes[0]])
				for j, w := range want {
					worst = max(worst, math.Abs(float64(out[r*len(want)+j])-w))
				}
			}
			t.Logf("max |out - float64 reference| = %.3g", worst)
			if worst > tt.tol {
				t.Errorf("max |out - float64 reference| = %g, want <= %g", worst, tt.tol)
			}
			// One input at a time gives the same as the batch.
			one := make([]float32, m.OutputSize())
			if err := m.Forward(one, x[tt.sizes[0]:2*tt.sizes[0]], 1); err != nil {
				t.Fatal(err)
			}
			for j, v := range one {
				if v != out[m.OutputSize()+j] {
					t.Fatalf("batch of %d and single input disagree at output %d: %v vs %v", n, j, out[m.OutputSize()+j], v)
				}
			}
		})
	}
}

func TestMLPLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(kv map[string]gguf.Value, ts map[string]mlpTensor)
		want string
	}{
		{"architecture", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["general.architecture"] = gguf.ValueOf("llama")
		}, `"llama"`},
		{"missing layer_count", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			delete(kv, "mlp.layer_count")
		}, "mlp.layer_count"},
		{"layer_count disagrees", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.layer_count"] = gguf.ValueOf(uint32(3))
		}, "mlp.layer_count 3"},
		{"zero width", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.sizes"] = gguf.ValueOf([]uint32{40, 0, 5})
		}, "width 0"},
		{"unknown activation", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.activations"] = gguf.ValueOf([]string{"swish", "sigmoid"})
		}, "swish"},
		{"hidden softmax", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.activations"] = gguf.ValueOf([]string{"softmax", "sigmoid"})
		}, "output layer"},
		{"input shape", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.input.height"] = gguf.ValueOf(uint32(2))
		}, "mlp.input.height"},
		{"bad std", func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
			kv["mlp.input.std"] = gguf.ValueOf(float32(0))
		}, "std"},
		{"missing weight", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			delete(ts, "layer.1.weight")
		}, `"layer.1.weight": missing`},
		{"missing bias", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			delete(ts, "layer.0.bias")
		}, `"layer.0.bias": missing`},
		{"weight rows", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			w := ts["layer.0.weight"]
			w.dims = []uint64{40, 6}
			w.data = w.data[:40*6*4]
			ts["layer.0.weight"] = w
		}, `"layer.0.weight": shape [40 6]`},
		{"weight too narrow", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			w := ts["layer.0.weight"]
			w.dims, w.data = []uint64{35, 7}, w.data[:35*7*4]
			ts["layer.0.weight"] = w
		}, `"layer.0.weight": shape [35 7]`},
		{"bias shape", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			b := ts["layer.1.bias"]
			b.dims = []uint64{4}
			b.data = b.data[:16]
			ts["layer.1.bias"] = b
		}, `"layer.1.bias": shape [4]`},
		{"unsupported type", func(_ map[string]gguf.Value, ts map[string]mlpTensor) {
			w := ts["layer.1.weight"]
			w.typ = quant.I32
			ts["layer.1.weight"] = w
		}, `"layer.1.weight"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := randomMLP([]int{40, 7, 5}, []string{"sigmoid", "sigmoid"}, 1)
			s.edit = tt.edit
			_, err := loadSpec(t, s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %s", err, tt.want)
			}
		})
	}
}

func TestMLPForwardSizeError(t *testing.T) {
	m, err := loadSpec(t, randomMLP([]int{40, 7, 5}, []string{"sigmoid", "sigmoid"}, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(make([]float32, 5), make([]float32, 39), 1); err == nil {
		t.Fatal("Forward with 39 inputs for 40: no error")
	}
}

func TestMLPProbabilities(t *testing.T) {
	out := []float32{2, 1, 0.5, -1}
	tests := []struct {
		act  string
		want []float64
	}{
		{"none", softmax64([]float64{2, 1, 0.5, -1})},
		{"softmax", []float64{2, 1, 0.5, -1}}, // already probabilities: passed through
		{"sigmoid", []float64{2 / 3.5, 1 / 3.5, 0.5 / 3.5, 0}},
	}
	for _, tt := range tests {
		m, err := loadSpec(t, randomMLP([]int{3, 4}, []string{tt.act}, 1))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 4)
		if err := m.Probabilities(got, out); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i])-tt.want[i]) > 1e-6 {
				t.Errorf("%s: probabilities %v, want %v", tt.act, got, tt.want)
				break
			}
		}
	}
}

func softmax64(v []float64) []float64 {
	out := make([]float64, len(v))
	sum := 0.0
	for i, x := range v {
		out[i] = math.Exp(x)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestMLPPixelsToInput(t *testing.T) {
	s := randomMLP([]int{4, 2}, []string{"sigmoid"}, 1)
	s.edit = func(kv map[string]gguf.Value, _ map[string]mlpTensor) {
		kv["mlp.input.mean"] = gguf.ValueOf(float32(0.5))
		kv["mlp.input.std"] = gguf.ValueOf(float32(0.25))
	}
	m, err := loadSpec(t, s)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 4)
	m.PixelsToInput(got, []byte{0, 51, 255, 128})
	want := []float64{-2, (0.2 - 0.5) / 0.25, 2, (128.0/255 - 0.5) / 0.25}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Fatalf("inputs %v, want %v", got, want)
		}
	}
}
