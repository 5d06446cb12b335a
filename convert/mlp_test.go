package convert

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/mnist"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// writeAndLoad writes m as typ into a temporary GGUF and loads it back.
func writeAndLoad(t *testing.T, m *MLP, typ quant.Type) (*model.MLP, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mlp-"+typ.String()+".gguf")
	if err := m.WriteGGUF(path, typ); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	net, err := model.LoadMLP(f, testPool)
	if err != nil {
		t.Fatal(err)
	}
	return net, st.Size()
}

// testPool runs the evaluations' matrix products on every core.
var testPool = ops.NewPool(ops.DefaultThreads())

func testSet(t *testing.T) *mnist.Dataset {
	t.Helper()
	ds, err := mnist.Load(testref.Path(t, "mnist", "t10k-images-idx3-ubyte.gz"), testref.Path(t, "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// compareFirst100 runs the reference's first 100 test inputs through net and
// compares with the reference outputs.
// Outputs above 1 in magnitude (logits) are compared relative to their size:
// PyTorch's float32 logits, up to 35, are themselves up to 8.8e-6 from the
// exact value of its weights, so no float32 implementation can promise an
// absolute 1e-5 there.
func compareFirst100(t *testing.T, net *model.MLP, refFile string, tol float64) []float32 {
	t.Helper()
	x := readF32(t, testref.Path(t, "mnist", "test_first100_x_f32.bin"))
	want := readF32(t, testref.Path(t, "mnist", refFile))
	got := make([]float32, len(want))
	if err := net.Forward(got, x, 100); err != nil {
		t.Fatal(err)
	}
	worst, worstRel := 0.0, 0.0
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		worst = max(worst, d)
		worstRel = max(worstRel, d/max(1, math.Abs(float64(want[i]))))
	}
	t.Logf("%s: max |diff| %.3g, max |diff|/max(1, |want|) %.3g", refFile, worst, worstRel)
	if worstRel > tol {
		t.Errorf("%s: outputs differ from the reference by up to %g (relative to max(1, |want|)), want <= %g", refFile, worstRel, tol)
	}
	return got
}

// TestPixelsToInputMatchesReference checks the input normalisation against
// the reference's x = pixel/255.
func TestPixelsToInputMatchesReference(t *testing.T) {
	m, err := MLPFromNPZ(testref.Path(t, "mnist", "nielsen_784_30_10.npz"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	net, _ := writeAndLoad(t, m, quant.F32)
	want := readF32(t, testref.Path(t, "mnist", "test_first100_x_f32.bin"))
	ds := testSet(t)
	got := make([]float32, 100*784)
	net.PixelsToInput(got, ds.Pixels[:100*784])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("input %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNielsenNPZMatchesReference(t *testing.T) {
	m, err := MLPFromNPZ(testref.Path(t, "mnist", "nielsen_784_30_10.npz"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{784, 30, 10}; !equalInts(m.Sizes, want) {
		t.Fatalf("sizes %v, want %v", m.Sizes, want)
	}
	for _, typ := range []quant.Type{quant.F32} {
		net, _ := writeAndLoad(t, m, typ)
		compareFirst100(t, net, "nielsen_out_first100_f32.bin", 1e-5)
		e, err := mnist.Evaluate(net, testSet(t))
		if err != nil {
			t.Fatal(err)
		}
		if e.Correct != 9484 || e.Total != 10000 {
			t.Errorf("%v: %d/%d correct, want the reference's 9484/10000", typ, e.Correct, e.Total)
		}
	}
}

func TestTorchMLPMatchesReference(t *testing.T) {
	m, err := MLPFromTorch(testref.Path(t, "mnist", "mlp_784_128_64_10.pt"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{784, 128, 64, 10}; !equalInts(m.Sizes, want) {
		t.Fatalf("sizes %v, want %v", m.Sizes, want)
	}
	net, _ := writeAndLoad(t, m, quant.F32)
	got := compareFirst100(t, net, "mlp_logits_first100_f32.bin", 1e-5)
	// Against the exact (float64) forward pass of the same weights the
	// logits are within 1e-5 absolute.
	x := readF32(t, testref.Path(t, "mnist", "test_first100_x_f32.bin"))
	worst := 0.0
	for r := range 100 {
		exact := exactForward(m, x[r*784:(r+1)*784])
		for j, v := range exact {
			worst = max(worst, math.Abs(float64(got[r*10+j])-v))
		}
	}
	if t.Logf("max |logit - exact float64 logit| %.3g", worst); worst > 1e-5 {
		t.Errorf("logits differ from the exact forward pass by up to %g, want <= 1e-5", worst)
	}
	e, err := mnist.Evaluate(net, testSet(t))
	if err != nil {
		t.Fatal(err)
	}
	if e.Correct != 9782 || e.Total != 10000 {
		t.Errorf("%d/%d correct, want the reference's 9782/10000", e.Correct, e.Total)
	}

	m.Activations[len(m.Activations)-1] = model.MLPSoftmax
	net, _ = writeAndLoad(t, m, quant.F32)
	compareFirst100(t, net, "mlp_softmax_first100_f32.bin", 1e-5)
}

// TestQuantizedAccuracy checks how much accuracy the block formats cost
// against the F32 reference accuracy (checked exactly above): at most 0.3
// points for Q8_0 and 1.5 for Q4_0, over the whole test set.
func TestQuantizedAccuracy(t *testing.T) {
	nielsen, err := MLPFromNPZ(testref.Path(t, "mnist", "nielsen_784_30_10.npz"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	torch, err := MLPFromTorch(testref.Path(t, "mnist", "mlp_784_128_64_10.pt"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds := testSet(t)
	for _, c := range []struct {
		name string
		m    *MLP
		ref  int
	}{{"nielsen_784_30_10", nielsen, 9484}, {"mlp_784_128_64_10", torch, 9782}} {
		for _, q := range []struct {
			typ     quant.Type
			maxLoss float64
		}{{quant.Q8_0, 0.3}, {quant.Q4_0, 1.5}} {
			net, size := writeAndLoad(t, c.m, q.typ)
			e, err := mnist.Evaluate(net, ds)
			if err != nil {
				t.Fatal(err)
			}
			loss := 100 * float64(c.ref-e.Correct) / float64(e.Total)
			t.Logf("%s %-5v accuracy %.2f%% (%d/%d), loss %.2f points, file %d bytes, %v", c.name, q.typ, 100*e.Accuracy(), e.Correct, e.Total, loss, size, e.Elapsed)
			if loss > q.maxLoss {
				t.Errorf("%s as %v: accuracy %.2f%% loses %.2f points, want at most %.1f", c.name, q.typ, 100*e.Accuracy(), loss, q.maxLoss)
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// exactForward runs m in float64 on one input.
func exactForward(m *MLP, x []float32) []float64 {
	a := make([]float64, len(x))
	for i, v := range x {
		a[i] = float64(v)
	}
	for l := range m.Weights {
		in, out := m.Sizes[l], m.Sizes[l+1]
		z := make([]float64, out)
		for j := range out {
			s := float64(m.Biases[l][j])
			for k := range in {
				s += float64(m.Weights[l][j*in+k]) * a[k]
			}
			switch m.Activations[l] {
			case model.MLPReLU:
				s = max(s, 0)
			case model.MLPSigmoid:
				s = 1 / (1 + math.Exp(-s))
			}
			z[j] = s
		}
		a = z
	}
	return a
}

// TestF16MatchesF32 checks that F16 weights (with F16 activations, as ggml
// pairs them) stay close to the F32 outputs.
func TestF16MatchesF32(t *testing.T) {
	m, err := MLPFromNPZ(testref.Path(t, "mnist", "nielsen_784_30_10.npz"), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	net, _ := writeAndLoad(t, m, quant.F16)
	compareFirst100(t, net, "nielsen_out_first100_f32.bin", 2e-3)
}

// nielsenNPZ writes a small network in Nielsen's layout, with edits.
func nielsenNPZ(t *testing.T, entries ...testsrc.ZipEntry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "net.npz")
	if err := os.WriteFile(p, testsrc.Zip(t, entries...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMLPFromNPZ(t *testing.T) {
	w0 := testsrc.ZipEntry{Name: "w0.npy", Data: testsrc.NPYF64("(2, 3)", 1, 2, 3, 4, 5, 6)}
	b0 := testsrc.ZipEntry{Name: "b0.npy", Data: testsrc.NPYF64("(2, 1)", 0.5, -0.5)}
	w1 := testsrc.ZipEntry{Name: "w1.npy", Data: testsrc.NPYF64("(1, 2)", 1, -1)}
	b1 := testsrc.ZipEntry{Name: "b1.npy", Data: testsrc.NPYF64("(1,)", 0)}
	m, err := MLPFromNPZ(nielsenNPZ(t, w0, b0, w1, b1), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.Sizes) != "[3 2 1]" || fmt.Sprint(m.Activations) != "[sigmoid sigmoid]" || m.InputHeight != 1 || m.InputWidth != 3 {
		t.Fatalf("sizes %v, activations %v, input %dx%d", m.Sizes, m.Activations, m.InputHeight, m.InputWidth)
	}
	if fmt.Sprint(m.Weights[0]) != "[1 2 3 4 5 6]" || fmt.Sprint(m.Biases[0]) != "[0.5 -0.5]" {
		t.Fatalf("layer 0: %v %v", m.Weights[0], m.Biases[0])
	}
	m, err = MLPFromNPZ(nielsenNPZ(t, w0, b0, w1, b1), MLPOptions{Hidden: []string{"relu"}, Softmax: true})
	if err != nil || fmt.Sprint(m.Activations) != "[relu softmax]" {
		t.Fatalf("--activation relu --softmax: %v %v", m, err)
	}
	for _, tt := range []struct {
		name    string
		entries []testsrc.ZipEntry
		opts    MLPOptions
		want    string
	}{
		{"missing bias", []testsrc.ZipEntry{w0, b0, w1}, MLPOptions{}, "no bias b1"},
		{"no w0", []testsrc.ZipEntry{b0}, MLPOptions{}, "no array w0"},
		{"chain mismatch", []testsrc.ZipEntry{w0, b0, {Name: "w1.npy", Data: testsrc.NPYF64("(1, 3)", 1, 2, 3)}, b1}, MLPOptions{}, "layer 0 has 2 outputs"},
		{"bias shape", []testsrc.ZipEntry{w0, {Name: "b0.npy", Data: testsrc.NPYF64("(3, 1)", 1, 2, 3)}, w1, b1}, MLPOptions{}, "b0 has shape [3 1]"},
		{"weight not 2-D", []testsrc.ZipEntry{{Name: "w0.npy", Data: testsrc.NPYF64("(6,)", 1, 2, 3, 4, 5, 6)}, b0}, MLPOptions{}, "w0 has shape [6]"},
		{"stray array", []testsrc.ZipEntry{w0, b0, w1, b1, {Name: "w3.npy", Data: testsrc.NPYF64("(1,)", 1)}}, MLPOptions{}, `"w3"`},
		{"softmax hidden", []testsrc.ZipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"softmax"}}, "output layer"},
		{"bad activation", []testsrc.ZipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"gelu"}}, "gelu"},
		{"too many activations", []testsrc.ZipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"relu", "relu"}}, "2 hidden activations for 1"},
		{"input shape", []testsrc.ZipEntry{w0, b0, w1, b1}, MLPOptions{InputHeight: 2, InputWidth: 2}, "input shape 2x2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MLPFromNPZ(nielsenNPZ(t, tt.entries...), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// patchedTorch copies the reference .pt with data.pkl edited by fn.
func patchedTorch(t *testing.T, fn func([]byte) []byte) string {
	t.Helper()
	src := testref.Path(t, "mnist", "mlp_784_128_64_10.pt")
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var entries []testsrc.ZipEntry
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasSuffix(zf.Name, "/data.pkl") {
			b = fn(b)
		}
		entries = append(entries, testsrc.ZipEntry{Name: zf.Name, Data: b})
	}
	p := filepath.Join(t.TempDir(), "patched.pt")
	if err := os.WriteFile(p, testsrc.Zip(t, entries...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMLPFromTorchErrors(t *testing.T) {
	// A nanoGPT checkpoint is not an MLP: the converter says so.
	if _, err := MLPFromTorch(testref.Path(t, "nanogpt", "ckpt.pt"), MLPOptions{}); err == nil {
		t.Error("MLPFromTorch accepted nanoGPT's checkpoint")
	}
	rename := func(from, to string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(from), []byte(to), 1) }
	}
	for _, tt := range []struct {
		name  string
		patch func([]byte) []byte
		want  string
	}{
		{"missing bias", rename("fc2.bias", "fc2.bia_"), "has no fc2.bias"},
		{"stray tensor", rename("fc3.weight", "fc3.scale_"), "tensor fc3.scale_ is not part of a Linear layer"},
		// fc1 and fc2 weights swapped: fc2 (128x784) meets fc2.bias (64).
		{"shape mismatch", func(b []byte) []byte {
			b = rename("fc1.weight", "fcX.weight")(b)
			b = rename("fc2.weight", "fc1.weight")(b)
			return rename("fcX.weight", "fc2.weight")(b)
		}, "fc2.bias has shape [64], want (128)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MLPFromTorch(patchedTorch(t, tt.patch), MLPOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
