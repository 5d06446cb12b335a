package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// TestConvertNanoGPTCommand runs testdata/README.md's command and requires
// the shipped model byte for byte.
func TestConvertNanoGPTCommand(t *testing.T) {
	ckpt := testref.Path(t, "nanogpt", "ckpt.pt")
	out := filepath.Join(t.TempDir(), "shakespeare-char-q8_0.gguf")
	stdout, stderr, code := runCmd(t, "convert", ckpt, "-o", out, "--type", "q8_0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "4 layers, 4 heads, n_embd 128, context 128, vocabulary 65 characters") ||
		!strings.Contains(stdout, "Q8_0, 53 tensors, 826368 parameters, 951200 bytes") {
		t.Errorf("summary %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the conversion differs from the shipped testdata model")
	}

	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if _, stderr, code := runCmd(t, "convert", ckpt, "-o", bad, "--type", "q9_9"); code != 2 {
		t.Errorf("--type q9_9: exit %d (%s), want 2", code, stderr)
	}
	if _, stderr, code := runCmd(t, "convert", ckpt, "-o", bad, "--n-layer", "6"); code != 1 || !strings.Contains(stderr, "n_layer 6 was given, but the model has 4") {
		t.Errorf("--n-layer 6: exit %d (%s), want 1", code, stderr)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Error("a failed conversion left its output")
	}
}

// writeConvCheckpoint writes a torch.save zip holding a state_dict of one
// (2, 2, 2) float32 tensor "conv.weight": neither an MLP nor nanoGPT.
func writeConvCheckpoint(t *testing.T, path string) {
	t.Helper()
	str := func(s string) string {
		return "X" + string(binary.LittleEndian.AppendUint32(nil, uint32(len(s)))) + s
	}
	pkl := "\x80\x02ccollections\nOrderedDict\nq\x00)R(" + str("conv.weight") +
		"ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") + "ctorch\nFloatStorage\n" + str("0") + str("cpu") +
		"K\x08tQK\x00(K\x02K\x02K\x02t(K\x04K\x02K\x01t\x89h\x00)Rtq\x01Ru."
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct{ name, data string }{
		{"archive/data.pkl", pkl}, {"archive/data/0", string(make([]byte, 32))}, {"archive/version", "3\n"},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
