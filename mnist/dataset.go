package mnist

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Magic numbers of MNIST's files: unsigned bytes, three dimensions for
// images (count, rows, columns), one for labels.
const (
	imagesMagic = 0x00000803
	labelsMagic = 0x00000801
)

// Images is a set of grey images, pixels 0 (background) to 255 (ink), each
// Rows x Cols bytes, row-major, one image after another.
type Images struct {
	N, Rows, Cols int
	Pixels        []byte
}

// Image returns image i's pixels.
func (im *Images) Image(i int) []byte {
	n := im.Rows * im.Cols
	return im.Pixels[i*n : (i+1)*n]
}

// Dataset pairs images with their labels (digits 0-9).
type Dataset struct {
	Images
	Labels []uint8
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return d.N }

// Subset returns the first n examples (all of them when n exceeds Len),
// sharing memory with d.
func (d *Dataset) Subset(n int) *Dataset {
	n = min(n, d.N)
	px := d.Rows * d.Cols
	return &Dataset{Images: Images{N: n, Rows: d.Rows, Cols: d.Cols, Pixels: d.Pixels[:n*px]}, Labels: d.Labels[:n]}
}

func magicOf(x *IDX) uint32 { return uint32(x.Type)<<8 | uint32(len(x.Dims)) }

// ImagesFromIDX checks that x is an MNIST image file (magic 0x00000803).
func ImagesFromIDX(x *IDX) (*Images, error) {
	if m := magicOf(x); m != imagesMagic {
		return nil, fmt.Errorf("magic number %#08x is not MNIST images' %#08x (unsigned bytes, 3 dimensions)", m, imagesMagic)
	}
	im := &Images{N: x.Dims[0], Rows: x.Dims[1], Cols: x.Dims[2], Pixels: x.Data}
	if im.Rows == 0 || im.Cols == 0 {
		return nil, fmt.Errorf("images of %dx%d pixels", im.Rows, im.Cols)
	}
	return im, nil
}

// LabelsFromIDX checks that x is an MNIST label file (magic 0x00000801) whose
// labels are digits.
func LabelsFromIDX(x *IDX) ([]uint8, error) {
	if m := magicOf(x); m != labelsMagic {
		return nil, fmt.Errorf("magic number %#08x is not MNIST labels' %#08x (unsigned bytes, 1 dimension)", m, labelsMagic)
	}
	for i, l := range x.Data {
		if l > 9 {
			return nil, fmt.Errorf("label %d of example %d is not a digit", l, i)
		}
	}
	return x.Data, nil
}

// LoadImages reads an MNIST image file (gzipped or not).
func LoadImages(path string) (*Images, error) {
	x, err := ReadIDXFile(path)
	if err != nil {
		return nil, err
	}
	im, err := ImagesFromIDX(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

// LoadLabels reads an MNIST label file (gzipped or not).
func LoadLabels(path string) ([]uint8, error) {
	x, err := ReadIDXFile(path)
	if err != nil {
		return nil, err
	}
	l, err := LabelsFromIDX(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Load reads an image file and its label file and checks that they hold the
// same number of examples.
func Load(imagesPath, labelsPath string) (*Dataset, error) {
	im, err := LoadImages(imagesPath)
	if err != nil {
		return nil, err
	}
	l, err := LoadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(l) != im.N {
		return nil, fmt.Errorf("%s holds %d images but %s holds %d labels", imagesPath, im.N, labelsPath, len(l))
	}
	return &Dataset{Images: *im, Labels: l}, nil
}

// TestFiles returns the names of the t10k test files in the directory of a
// training image file, keeping its compression suffix: the default test set
// beside train-images-idx3-ubyte.gz is t10k-images-idx3-ubyte.gz.
func TestFiles(trainImages string) (images, labels string) {
	dir := filepath.Dir(trainImages)
	ext := ""
	if strings.HasSuffix(trainImages, ".gz") {
		ext = ".gz"
	}
	return filepath.Join(dir, "t10k-images-idx3-ubyte"+ext), filepath.Join(dir, "t10k-labels-idx1-ubyte"+ext)
}
