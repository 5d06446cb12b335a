package mnist_test

import (
	"image"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/mnist"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/quant"
)

// TestToMNISTPicturesClassify treats MNIST test digits as pictures, the way
// a user's file would arrive (enlarged 4x, and also as dark ink on white
// paper), and checks that after ToMNIST the reference PyTorch network still
// reads them: the preprocessing reproduces MNIST's own framing closely
// enough for the network trained on it.
func TestToMNISTPicturesClassify(t *testing.T) {
	ds, err := mnist.Load(testref.Path(t, "mnist", "t10k-images-idx3-ubyte.gz"), testref.Path(t, "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := convert.MLPFromTorch(testref.Path(t, "mnist", "mlp_784_128_64_10.pt"), convert.MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlp.gguf")
	if err := src.WriteGGUF(path, quant.F32); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	net, err := model.LoadMLP(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n, scale = 300, 4
	x := make([]float32, 784)
	out := make([]float32, 10)
	for _, darkOnLight := range []bool{false, true} {
		direct, viaPicture := 0, 0
		for i := range n {
			px := ds.Image(i)
			net.PixelsToInput(x, px)
			net.Forward(out, x, 1)
			if mnist.Argmax(out) == int(ds.Labels[i]) {
				direct++
			}
			img := image.NewGray(image.Rect(0, 0, 28*scale, 28*scale))
			for y := range 28 * scale {
				for xx := range 28 * scale {
					v := px[(y/scale)*28+xx/scale]
					if darkOnLight {
						v = 255 - v
					}
					img.Pix[y*img.Stride+xx] = v
				}
			}
			d, err := mnist.ToMNIST(img)
			if err != nil {
				t.Fatalf("image %d: %v", i, err)
			}
			if d.Inverted != darkOnLight {
				t.Fatalf("image %d: inverted %v, want %v", i, d.Inverted, darkOnLight)
			}
			net.PixelsToInput(x, d.Pixels[:])
			net.Forward(out, x, 1)
			if mnist.Argmax(out) == int(ds.Labels[i]) {
				viaPicture++
			}
		}
		t.Logf("dark on light %v: %d/%d correct as MNIST gives them, %d/%d through ToMNIST", darkOnLight, direct, n, viaPicture, n)
		if viaPicture < direct-n/50 {
			t.Errorf("dark on light %v: %d/%d correct through ToMNIST, want at most %d fewer than the %d of the originals", darkOnLight, viaPicture, n, n/50, direct)
		}
	}
}
