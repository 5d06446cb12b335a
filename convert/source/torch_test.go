package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/types"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/internal/testref"
)

func TestOpenTorchMLP(t *testing.T) {
	f, err := OpenTorch(testref.Path(t, "mnist", "mlp_784_128_64_10.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	for _, nt := range f.Tensors() {
		got = append(got, fmt.Sprintf("%s%v:%v", nt.Name, nt.Shape, nt.DType))
	}
	want := "[fc1.weight[128 784]:float32 fc1.bias[128]:float32 fc2.weight[64 128]:float32 fc2.bias[64]:float32 fc3.weight[10 64]:float32 fc3.bias[10]:float32]"
	if fmt.Sprint(got) != want {
		t.Fatalf("tensors %v\nwant %v", got, want)
	}
	fc3, err := f.Get("fc3.bias")
	if err != nil {
		t.Fatal(err)
	}
	v, err := fc3.(*TorchTensor).Float32s()
	if err != nil || len(v) != 10 {
		t.Fatalf("fc3.bias: %v %v", v, err)
	}
}

// TestOpenTorchNanoGPT reads a full training checkpoint (model, optimizer
// state, config): the reader is general, not MLP-specific.
func TestOpenTorchNanoGPT(t *testing.T) {
	f, err := OpenTorch(testref.Path(t, "nanogpt", "ckpt.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	nl, err := f.Get("model_args", "n_layer")
	if err != nil || nl != 4 {
		t.Fatalf("model_args.n_layer: %v %v", nl, err)
	}
	byName := map[string]NamedTensor{}
	for _, nt := range f.Tensors() {
		byName[nt.Name] = nt
	}
	wte, ok := byName["model.transformer.wte.weight"]
	if !ok || fmt.Sprint(wte.Shape) != "[65 128]" {
		t.Fatalf("model.transformer.wte.weight: %v", wte)
	}
	if _, err := wte.Float32s(); err != nil {
		t.Fatal(err)
	}
	if _, ok := byName["model.transformer.h.0.attn.bias"]; !ok {
		t.Error("no causal-mask buffer model.transformer.h.0.attn.bias")
	}
}

// tensorPickle is a state_dict {name: tensor} of one float32 tensor with
// the given size and stride tuples (pickle source), over storage "0" of
// numel elements.
func tensorPickle(name, size, stride string, numel int) []byte {
	var b strings.Builder
	b.WriteString("\x80\x02ccollections\nOrderedDict\nq\x00)R(")
	b.WriteString(testsrc.PickleString(name))
	b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n((")
	b.WriteString(testsrc.PickleString("storage") + "ctorch\nFloatStorage\n" + testsrc.PickleString("0") + testsrc.PickleString("cpu"))
	b.WriteString("J" + string(binary.LittleEndian.AppendUint32(nil, uint32(numel))))
	b.WriteString("tQK\x00" + size + stride + "\x89h\x00)Rtq\x01R")
	b.WriteString("u.")
	return []byte(b.String())
}

func torchZip(t testing.TB, pkl []byte, storage []byte) []byte {
	return testsrc.Zip(t, testsrc.ZipEntry{Name: "archive/data.pkl", Data: pkl}, testsrc.ZipEntry{Name: "archive/data/0", Data: storage}, testsrc.ZipEntry{Name: "archive/version", Data: []byte("3\n")})
}

func TestReadTorchSynthetic(t *testing.T) {
	// (2, 3) tensor, strides (3, 1).
	pkl := tensorPickle("w", "(K\x02K\x03t", "(K\x03K\x01t", 6)
	data := torchZip(t, pkl, testsrc.F32Bytes(1, 2, 3, 4, 5, 6))
	f, err := ReadTorch(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ts := f.Tensors()
	if len(ts) != 1 || ts[0].Name != "w" || fmt.Sprint(ts[0].Shape) != "[2 3]" {
		t.Fatalf("tensors %v", ts)
	}
	v, err := ts[0].Float32s()
	if err != nil || fmt.Sprint(v) != "[1 2 3 4 5 6]" {
		t.Fatalf("values %v %v", v, err)
	}
}

func TestReadTorchErrors(t *testing.T) {
	good := tensorPickle("w", "(K\x02K\x03t", "(K\x03K\x01t", 6)
	six := testsrc.F32Bytes(1, 2, 3, 4, 5, 6)
	lying := []byte("\x80\x02X\xff\xff\xff\x7f")
	for _, tt := range []struct {
		name     string
		data     []byte
		want     string
		readData bool // the error comes when the tensor's data is read
	}{
		{"not a zip", []byte("this is not a checkpoint at all"), "not a PyTorch zip", false},
		{"truncated zip", torchZip(t, good, six)[:100], "not a PyTorch zip", false},
		{"legacy pickle", []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."), "legacy", false},
		{"no data.pkl", testsrc.Zip(t, testsrc.ZipEntry{Name: "archive/data/0", Data: six}), "no data.pkl", false},
		{"torchscript", testsrc.Zip(t, testsrc.ZipEntry{Name: "archive/data.pkl", Data: good}, testsrc.ZipEntry{Name: "archive/constants.pkl", Data: good}), "TorchScript", false},
		{"foreign opcode", torchZip(t, []byte("\x80\x02\x96\x00\x00\x00\x00\x00\x00\x00\x00."), six), "opcode 0x96", false},
		{"exec-style pickle", torchZip(t, []byte("cos\nsystem\n(S'true'\ntR."), six), "opcode 0x53", false},
		{"lying string length", torchZip(t, lying, six), "past the end", false},
		{"no STOP", torchZip(t, good[:len(good)-1], six), "without STOP", false},
		{"non-contiguous", torchZip(t, tensorPickle("w", "(K\x02K\x03t", "(K\x01K\x02t", 6), six), "not contiguous", false},
		{"view past storage", torchZip(t, tensorPickle("w", "(K\x03K\x03t", "(K\x03K\x01t", 6), six), "exceed", false},
		{"short storage", torchZip(t, good, six[:20]), "20 bytes, want 24", true},
		{"missing storage", testsrc.Zip(t, testsrc.ZipEntry{Name: "archive/data.pkl", Data: good}), "data/0", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadTorch(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.readData && err == nil {
				_, err = f.Tensors()[0].Float32s()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestReadTorchRunsNothing: a pickle that would call os.system in Python
// only yields inert data here.
func TestReadTorchRunsNothing(t *testing.T) {
	data := torchZip(t, []byte("\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R."), nil)
	f, err := ReadTorch(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	obj, ok := f.Root.(*types.GenericObject)
	if !ok || obj.Class.Module != "os" || obj.Class.Name != "system" || len(obj.ConstructorArgs) != 1 {
		t.Fatalf("root %#v, want an inert os.system object", f.Root)
	}
}

func FuzzReadTorch(f *testing.F) {
	f.Add(tensorPickle("w", "(K\x02K\x03t", "(K\x03K\x01t", 6))
	f.Add(tensorPickle("w", "(K\x02K\x03t", "(K\x01K\x02t", 6))
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00a]q\x01(K\x01G?\xf0\x00\x00\x00\x00\x00\x00\x88Ne\x85u."))
	f.Fuzz(func(t *testing.T, pkl []byte) {
		data := torchZip(t, pkl, testsrc.F32Bytes(1, 2, 3, 4, 5, 6))
		tf, err := ReadTorch(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, nt := range tf.Tensors() {
			if v, err := nt.Float32s(); err == nil && len(v) != nt.NumElements() {
				t.Fatalf("%s: shape %v but %d values", nt.Name, nt.Shape, len(v))
			}
		}
	})
}
