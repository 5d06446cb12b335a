package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/mnist"
)

func mnistFile(t *testing.T, name string) string {
	t.Helper()
	return testref.Path(t, "mnist", name)
}

// convertRef converts a reference model with infer convert.
func convertRef(t *testing.T, src string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))+".gguf")
	stdout, stderr, code := runCmd(t, append([]string{"convert", src, "-o", out}, args...)...)
	if code != 0 {
		t.Fatalf("infer convert %s: exit %d: %s", src, code, stderr)
	}
	if !strings.Contains(stdout, out) {
		t.Errorf("convert output %q does not name %s", stdout, out)
	}
	return out
}

// TestConvertAndEvalReference: the reference networks converted by infer
// convert score exactly the reference accuracies.
func TestConvertAndEvalReference(t *testing.T) {
	images, labels := mnistFile(t, "t10k-images-idx3-ubyte.gz"), mnistFile(t, "t10k-labels-idx1-ubyte.gz")
	for _, c := range []struct {
		src, want string
	}{
		{"nielsen_784_30_10.npz", "accuracy 94.84% (9484/10000)\n"},
		{"mlp_784_128_64_10.pt", "accuracy 97.82% (9782/10000)\n"},
	} {
		model := convertRef(t, mnistFile(t, c.src))
		stdout, stderr, code := runCmd(t, "mnist", "eval", "-m", model, "--images", images, "--labels", labels)
		if code != 0 {
			t.Fatalf("eval %s: exit %d: %s", c.src, code, stderr)
		}
		if !strings.HasPrefix(stdout, c.want) {
			t.Errorf("eval %s: first line %q, want %q", c.src, strings.SplitN(stdout, "\n", 2)[0], c.want)
		}
		for _, part := range []string{"per class:", "confusion matrix", "images/s"} {
			if !strings.Contains(stdout, part) {
				t.Errorf("eval %s: no %q in\n%s", c.src, part, stdout)
			}
		}
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	junk := write("junk.bin", []byte("nothing to see here"))
	badZip := write("bad.npz", []byte("PK\x03\x04 but the rest is not a zip archive"))
	gguf := write("model.gguf", []byte("GGUF\x03\x00\x00\x00"))
	npz := mnistFile(t, "nielsen_784_30_10.npz")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no source", []string{"convert", "-o", out}, 2, "one source"},
		{"no output", []string{"convert", npz}, 2, "-o"},
		{"bad type", []string{"convert", npz, "-o", out, "--type", "bogus"}, 2, "--type"},
		{"missing source", []string{"convert", filepath.Join(dir, "nope.npz"), "-o", out}, 1, "nope.npz"},
		{"unknown source", []string{"convert", junk, "-o", out}, 1, "unrecognised"},
		{"bad zip", []string{"convert", badZip, "-o", out}, 1, "zip"},
		{"gguf source", []string{"convert", gguf, "-o", out}, 1, "already a GGUF"},
		{"bad activation", []string{"convert", npz, "-o", out, "--activation", "swish"}, 1, "swish"},
		{"bad input shape", []string{"convert", npz, "-o", out, "--input-shape", "27x27"}, 1, "27x27"},
	}
	// A PyTorch checkpoint that is neither an MLP nor a nanoGPT model.
	conv := filepath.Join(dir, "conv.pt")
	writeConvCheckpoint(t, conv)
	tests = append(tests, struct {
		name string
		args []string
		code int
		msg  string
	}{"not an MLP", []string{"convert", conv, "-o", out}, 1, "only MLP"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("infer %q: exit %d, want %d; stderr %q should mention %q", tt.args, code, tt.code, stderr, tt.msg)
			}
		})
	}
	if fileExists(out) {
		t.Errorf("failed conversions left %s behind", out)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestMNISTTrainSmall trains briefly from the CLI and evaluates the result.
func TestMNISTTrainSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mlp.gguf")
	stdout, stderr, code := runCmd(t, "mnist", "train",
		"--images", mnistFile(t, "train-images-idx3-ubyte.gz"), "--labels", mnistFile(t, "train-labels-idx1-ubyte.gz"),
		"--limit", "10000", "--epochs", "2", "--seed", "1", "-o", out, "--type", "q8_0")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`epoch  2/2: test accuracy ([0-9.]+)% \((\d+)/10000\)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no epoch 2 line in\n%s", stdout)
	}
	if acc, _ := strconv.ParseFloat(m[1], 64); acc < 85 {
		t.Errorf("test accuracy %.2f%% after 2 epochs on 10000 images, want >= 85%%", acc)
	}
	if strings.Contains(stderr, "epoch 1/2") {
		t.Errorf("a progress bar on stderr, which is not a terminal: %q", stderr)
	}
	// The Q8_0 file it wrote scores what training reported, within rounding.
	stdout, stderr, code = runCmd(t, "mnist", "eval", "-m", out,
		"--images", mnistFile(t, "t10k-images-idx3-ubyte.gz"), "--labels", mnistFile(t, "t10k-labels-idx1-ubyte.gz"))
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var correct int
	fmt.Sscanf(stdout[strings.Index(stdout, "(")+1:], "%d", &correct)
	trained, _ := strconv.Atoi(m[2])
	if d := correct - trained; d < -30 || d > 30 {
		t.Errorf("eval of the Q8_0 file: %d correct, training reported %d", correct, trained)
	}
}

func TestMNISTErrors(t *testing.T) {
	dir := t.TempDir()
	images, labels := mnistFile(t, "t10k-images-idx3-ubyte.gz"), mnistFile(t, "t10k-labels-idx1-ubyte.gz")
	trainLabels := mnistFile(t, "train-labels-idx1-ubyte.gz")
	notImage := filepath.Join(dir, "digit.png")
	os.WriteFile(notImage, []byte("this is a text file, not a picture"), 0o644)
	model := convertRef(t, mnistFile(t, "nielsen_784_30_10.npz"))
	out := filepath.Join(dir, "out.gguf")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no subcommand", []string{"mnist"}, 2, "subcommand"},
		{"unknown subcommand", []string{"mnist", "fly"}, 2, "fly"},
		{"train without data", []string{"mnist", "train", "-o", out}, 2, "--images"},
		{"train without output", []string{"mnist", "train", "--images", images, "--labels", labels}, 2, "-o"},
		{"train bad sizes", []string{"mnist", "train", "--images", images, "--labels", labels, "-o", out, "--sizes", "784"}, 2, "--sizes"},
		{"train size mismatch", []string{"mnist", "train", "--images", images, "--labels", labels, "-o", out, "--sizes", "100,10", "--epochs", "1"}, 1, "input layer of 100"},
		{"train count mismatch", []string{"mnist", "train", "--images", images, "--labels", trainLabels, "-o", out}, 1, "holds 10000 images but"},
		{"eval count mismatch", []string{"mnist", "eval", "-m", model, "--images", images, "--labels", trainLabels}, 1, "60000 labels"},
		{"eval labels as images", []string{"mnist", "eval", "-m", model, "--images", labels, "--labels", labels}, 1, "not MNIST images"},
		{"eval no model", []string{"mnist", "eval", "--images", images, "--labels", labels}, 2, "-m"},
		{"predict not an image", []string{"mnist", "predict", "-m", model, notImage}, 1, "not an image"},
		{"predict no file", []string{"mnist", "predict", "-m", model}, 2, "image file"},
		{"predict missing model", []string{"mnist", "predict", "-m", filepath.Join(dir, "none.gguf"), notImage}, 1, "none.gguf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("infer %q: exit %d, want %d; stderr %q should mention %q", tt.args, code, tt.code, stderr, tt.msg)
			}
		})
	}
	if fileExists(out) {
		t.Errorf("failed runs left %s behind", out)
	}
}

// TestMNISTPredict writes MNIST test digits as a large dark-on-light PNG
// and a PGM, and reads them back with predict.
func TestMNISTPredict(t *testing.T) {
	ds, err := mnist.Load(mnistFile(t, "t10k-images-idx3-ubyte.gz"), mnistFile(t, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	model := convertRef(t, mnistFile(t, "mlp_784_128_64_10.pt"), "--softmax")
	dir := t.TempDir()
	// Test image 0 is a 7: as a 3x enlarged PNG, dark ink on white paper.
	img := image.NewGray(image.Rect(0, 0, 84, 84))
	for y := range 84 {
		for x := range 84 {
			img.Pix[y*84+x] = 255 - ds.Image(0)[(y/3)*28+x/3]
		}
	}
	pngPath := filepath.Join(dir, "seven.png")
	f, _ := os.Create(pngPath)
	png.Encode(f, img)
	f.Close()
	// Test image 1 is a 2: as a plain PGM, light on dark.
	var pgm strings.Builder
	pgm.WriteString("P2\n# an MNIST two\n28 28\n255\n")
	for i, v := range ds.Image(1) {
		fmt.Fprintf(&pgm, "%d", v)
		if i%28 == 27 {
			pgm.WriteString("\n")
		} else {
			pgm.WriteString(" ")
		}
	}
	pgmPath := filepath.Join(dir, "two.pgm")
	os.WriteFile(pgmPath, []byte(pgm.String()), 0o644)

	stdout, stderr, code := runCmd(t, "mnist", "predict", "-m", model, pngPath, pgmPath, "--ascii")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	for _, want := range []string{pngPath + ": 7\n", pgmPath + ": 2\n", "inverted", "+--------------------------------------------------------+"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("predict output lacks %q:\n%s", want, stdout)
		}
	}
	// Ten probabilities per image, summing to 1.
	probs := regexp.MustCompile(`(?m)^\s+\d  ([0-9.]+)`).FindAllStringSubmatch(stdout, -1)
	if len(probs) != 20 {
		t.Fatalf("%d probability lines, want 20:\n%s", len(probs), stdout)
	}
	sum := 0.0
	for _, p := range probs[:10] {
		v, _ := strconv.ParseFloat(p[1], 64)
		sum += v
	}
	if sum < 0.99 || sum > 1.01 {
		t.Errorf("probabilities sum to %v", sum)
	}
}
