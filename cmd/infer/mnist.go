package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/mnist"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

func init() {
	register(command{name: "mnist", summary: "handwritten digits: train, eval, predict with an mlp GGUF", run: runMNIST})
}

const mnistUsage = `usage:
  infer mnist train --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz -o mlp.gguf
                    [--sizes 784,30,10] [--epochs 30] [--batch 10] [--eta 3.0] [--seed 1]
                    [--test-images F --test-labels F] [--type f32]
  infer mnist eval -m mlp.gguf --images t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz
  infer mnist predict -m mlp.gguf [--ascii] digit.png [more.pgm ...]`

func runMNIST(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, mnistUsage)
		if len(args) == 0 {
			return usagef("want a subcommand: train, eval or predict")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "train":
		return runMNISTTrain(args[1:], stdout, stderr)
	case "eval":
		return runMNISTEval(args[1:], stdout, stderr)
	case "predict":
		return runMNISTPredict(args[1:], stdout, stderr)
	}
	return usagef("unknown mnist subcommand %q (want train, eval or predict)", args[0])
}

func runMNISTTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mnist train", stderr)
	images := fs.String("images", "", "training images (IDX, gzipped or not)")
	labels := fs.String("labels", "", "training labels (IDX)")
	testImages := fs.String("test-images", "", "test images (default: t10k-images-idx3-ubyte[.gz] beside --images)")
	testLabels := fs.String("test-labels", "", "test labels (default: t10k-labels-idx1-ubyte[.gz] beside --labels)")
	sizesFlag := fs.String("sizes", "784,30,10", "layer sizes, input first")
	epochs := fs.Int("epochs", 30, "training epochs")
	batch := fs.Int("batch", 10, "mini-batch size")
	eta := fs.Float64("eta", 3.0, "learning rate η")
	seed := fs.Uint64("seed", 1, "random seed (initial weights and shuffles)")
	limit := fs.Int("limit", 0, "train on the first N images only (0: all)")
	out := fs.String("o", "", "output GGUF file")
	typeName := fs.String("type", "f32", "weight type of the output: f32, f16, q8_0, q4_0, ...")
	noProgress := fs.Bool("no-progress", false, "no progress bar")
	fs.Usage = func() { fmt.Fprintln(stderr, mnistUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *images == "" || *labels == "" {
		return usagef("want --images and --labels")
	}
	if *out == "" {
		return usagef("want an output file: -o mlp.gguf")
	}
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		return usagef("--sizes: %v", err)
	}
	if *epochs < 0 || *batch < 1 || !(*eta > 0) || *limit < 0 {
		return usagef("want --epochs >= 0, --batch >= 1, --eta > 0, --limit >= 0")
	}
	typ, err := parseWeightType(*typeName)
	if err != nil {
		return usagef("--type: %v", err)
	}
	if *testImages == "" || *testLabels == "" {
		ti, tl := mnist.TestFiles(*images)
		if *testImages == "" {
			*testImages = ti
		}
		if *testLabels == "" {
			*testLabels = tl
		}
	}

	train, err := mnist.Load(*images, *labels)
	if err != nil {
		return err
	}
	if *limit > 0 {
		train = train.Subset(*limit)
	}
	test, err := mnist.Load(*testImages, *testLabels)
	if err != nil {
		return fmt.Errorf("test set: %w", err)
	}
	rng := rand.New(rand.NewPCG(*seed, 0x9e3779b97f4a7c15))
	net, err := mnist.NewNetwork(sizes, rng)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "training %v on %d images (test: %d), %d epochs, mini-batch %d, eta %g, seed %d\n",
		sizes, train.N, test.N, *epochs, *batch, *eta, *seed)

	var bar *progressbar.ProgressBar
	cfg := mnist.TrainConfig{Epochs: *epochs, BatchSize: *batch, Eta: *eta}
	if !*noProgress && writerIsTerminal(stderr) { // a bar of \r lines would litter a log
		cfg.OnBatch = func(epoch, done int) {
			if bar == nil {
				bar = progressbar.NewOptions(train.N,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, *epochs)),
					progressbar.OptionShowCount(),
					progressbar.OptionSetItsString("img"),
					progressbar.OptionShowIts(),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish())
			}
			bar.Set(done)
		}
	}
	start := time.Now()
	cfg.OnEpoch = func(epoch, correct, total int, elapsed time.Duration) {
		if bar != nil {
			bar.Finish()
			bar = nil
		}
		fmt.Fprintf(stdout, "epoch %2d/%d: test accuracy %.2f%% (%d/%d)  [%.1fs]\n",
			epoch, *epochs, 100*float64(correct)/float64(max(total, 1)), correct, total, elapsed.Seconds())
	}
	if err := net.SGD(train, test, cfg, rng); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained in %.1fs\n", time.Since(start).Seconds())

	m := networkToMLP(net, fmt.Sprintf("nielsen_%s_seed%d", strings.ReplaceAll(*sizesFlag, ",", "_"), *seed))
	if err := m.WriteGGUF(*out, typ); err != nil {
		return err
	}
	if st, err := os.Stat(*out); err == nil {
		fmt.Fprintf(stdout, "wrote %s (%v weights, %d bytes)\n", *out, typ, st.Size())
	}
	return nil
}

// networkToMLP describes a trained Nielsen network as an mlp GGUF: sigmoid
// on every layer, inputs pixel/255 of a square image.
func networkToMLP(n *mnist.Network, name string) *convert.MLP {
	m := &convert.MLP{Name: name, Sizes: n.Sizes, InputStd: 1}
	m.InputHeight, m.InputWidth = 1, n.Sizes[0]
	if n.Sizes[0] == mnist.Side*mnist.Side {
		m.InputHeight, m.InputWidth = mnist.Side, mnist.Side
	}
	for l := range n.Weights {
		m.Weights = append(m.Weights, toFloat32(n.Weights[l]))
		m.Biases = append(m.Biases, toFloat32(n.Biases[l]))
		m.Activations = append(m.Activations, model.MLPSigmoid)
	}
	return m
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1<<16 {
			return nil, fmt.Errorf("%q: want comma-separated layer sizes 1..65536, e.g. 784,30,10", s)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) < 2 {
		return nil, fmt.Errorf("%q: want at least an input and an output size", s)
	}
	return sizes, nil
}

// parseWeightType accepts the weight types an MLP can be written as.
func parseWeightType(name string) (quant.Type, error) {
	t, err := quant.ParseType(name)
	if err != nil {
		return 0, err
	}
	if err := convert.CheckWeightType(t); err != nil {
		return 0, err
	}
	return t, nil
}

// openMLP opens an mlp GGUF; the returned function releases it.
func openMLP(path string, threads int) (*model.MLP, func(), error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	pool := ops.NewPool(threads)
	m, err := model.LoadMLP(f, pool)
	if err != nil {
		pool.Close()
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, func() { pool.Close(); f.Close() }, nil
}

func runMNISTEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mnist eval", stderr)
	modelPath := fs.String("m", "", "mlp GGUF model")
	images := fs.String("images", "", "test images (IDX, gzipped or not)")
	labels := fs.String("labels", "", "test labels (IDX)")
	threads := fs.Int("t", ops.DefaultThreads(), "threads")
	fs.Usage = func() { fmt.Fprintln(stderr, mnistUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *modelPath == "" {
		return usagef("want a model: -m mlp.gguf")
	}
	if *images == "" || *labels == "" {
		return usagef("want --images and --labels")
	}
	if *threads < 1 {
		return usagef("-t %d: want at least 1 thread", *threads)
	}
	m, done, err := openMLP(*modelPath, *threads)
	if err != nil {
		return err
	}
	defer done()
	data, err := mnist.Load(*images, *labels)
	if err != nil {
		return err
	}
	e, err := mnist.Evaluate(m, data)
	if err != nil {
		return err
	}
	e.Report(stdout)
	return nil
}

func runMNISTPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mnist predict", stderr)
	modelPath := fs.String("m", "", "mlp GGUF model")
	ascii := fs.Bool("ascii", false, "draw the 28x28 input in the terminal")
	fs.Usage = func() { fmt.Fprintln(stderr, mnistUsage); fs.PrintDefaults() }
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" {
		return usagef("want a model: -m mlp.gguf")
	}
	if len(files) == 0 {
		return usagef("want an image file (PNG, JPEG, GIF or PGM)")
	}
	m, done, err := openMLP(*modelPath, 1)
	if err != nil {
		return err
	}
	defer done()
	if m.InputHeight != mnist.Side || m.InputWidth != mnist.Side {
		return fmt.Errorf("%s takes %dx%d inputs; predict makes 28x28 MNIST-style images", *modelPath, m.InputHeight, m.InputWidth)
	}
	x := make([]float32, m.InputSize())
	out := make([]float32, m.OutputSize())
	prob := make([]float32, m.OutputSize())
	for i, path := range files {
		img, err := mnist.ReadImageFile(path)
		if err != nil {
			return err
		}
		d, err := mnist.ToMNIST(img)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		m.PixelsToInput(x, d.Pixels[:])
		if err := m.Forward(out, x, 1); err != nil {
			return err
		}
		if err := m.Probabilities(prob, out); err != nil {
			return err
		}
		best := mnist.Argmax(out)
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if *ascii {
			note := ""
			if d.Inverted {
				note = ", inverted: dark ink on a light background"
			}
			fmt.Fprintf(stdout, "%s: ink in %v of a %dx%d picture%s\n", path, d.Box, img.Bounds().Dx(), img.Bounds().Dy(), note)
			fmt.Fprint(stdout, mnist.ASCII(d.Pixels[:], mnist.Side, mnist.Side))
		}
		fmt.Fprintf(stdout, "%s: %d\n", path, best)
		what := "probability"
		if a := m.OutputActivation(); a != model.MLPSoftmax && a != model.MLPNone {
			what = fmt.Sprintf("probability (%v outputs normalised to sum 1)", a)
		}
		fmt.Fprintf(stdout, "  digit  %s\n", what)
		for c, p := range prob {
			mark := ""
			if c == best {
				mark = "  <"
			}
			fmt.Fprintf(stdout, "  %5d  %.4f%s\n", c, p, mark)
		}
	}
	return nil
}
