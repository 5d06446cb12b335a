package source

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/infer-go/infer/quant"
)

// TorchDType is the element type of a PyTorch storage.
type TorchDType uint8

const (
	TorchFloat32 TorchDType = iota + 1
	TorchFloat64
	TorchFloat16
	TorchBFloat16
	TorchInt64
	TorchInt32
	TorchInt16
	TorchInt8
	TorchUint8
	TorchBool
)

var torchStorages = map[string]TorchDType{
	"FloatStorage": TorchFloat32, "DoubleStorage": TorchFloat64, "HalfStorage": TorchFloat16,
	"BFloat16Storage": TorchBFloat16, "LongStorage": TorchInt64, "IntStorage": TorchInt32,
	"ShortStorage": TorchInt16, "CharStorage": TorchInt8, "ByteStorage": TorchUint8, "BoolStorage": TorchBool,
}

var torchDTypeNames = [...]string{"", "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}
var torchDTypeSizes = [...]int{0, 4, 8, 2, 2, 8, 4, 2, 1, 1, 1}

func (d TorchDType) String() string {
	if int(d) < len(torchDTypeNames) && d != 0 {
		return torchDTypeNames[d]
	}
	return fmt.Sprintf("TorchDType(%d)", d)
}

// Size is the bytes per element.
func (d TorchDType) Size() int {
	if int(d) < len(torchDTypeSizes) {
		return torchDTypeSizes[d]
	}
	return 0
}

// TorchTensor is one tensor of a PyTorch checkpoint: a contiguous view of a
// storage. Its data is read from the archive on first use.
type TorchTensor struct {
	Shape   []int
	DType   TorchDType
	storage *torchStorage
	offset  int // in elements
}

// NumElements is the product of the shape (1 for a scalar).
func (t *TorchTensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the tensor's elements, row-major, little-endian.
func (t *TorchTensor) Bytes() ([]byte, error) {
	data, err := t.storage.load()
	if err != nil {
		return nil, err
	}
	es := t.DType.Size()
	return data[t.offset*es : (t.offset+t.NumElements())*es], nil
}

// Float32s converts the tensor's elements to float32.
func (t *TorchTensor) Float32s() ([]float32, error) {
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.NumElements())
	le := binary.LittleEndian
	for i := range out {
		switch t.DType {
		case TorchFloat32:
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		case TorchFloat64:
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		case TorchFloat16:
			out[i] = quant.F16ToF32(le.Uint16(b[2*i:]))
		case TorchBFloat16:
			out[i] = quant.BF16ToF32(le.Uint16(b[2*i:]))
		case TorchInt64:
			out[i] = float32(int64(le.Uint64(b[8*i:])))
		case TorchInt32:
			out[i] = float32(int32(le.Uint32(b[4*i:])))
		case TorchInt16:
			out[i] = float32(int16(le.Uint16(b[2*i:])))
		case TorchInt8:
			out[i] = float32(int8(b[i]))
		case TorchUint8, TorchBool:
			out[i] = float32(b[i])
		}
	}
	return out, nil
}

// torchStorage is one data/<key> member of the archive.
type torchStorage struct {
	key   string
	dtype TorchDType
	numel int
	file  *TorchFile
	data  []byte
	err   error
}

func (s *torchStorage) load() ([]byte, error) {
	if s.data != nil || s.err != nil {
		return s.data, s.err
	}
	s.data, s.err = s.file.readStorage(s)
	return s.data, s.err
}

// TorchFile is a PyTorch checkpoint written by torch.save (the zip format of
// PyTorch 1.6 and later): the unpickled object in Root, whose tensors are
// *TorchTensor values. Containers are gopickle's: *types.OrderedDict,
// *types.Dict, *types.List, *types.Tuple; scalars are string, int, float64,
// bool, nil, *big.Int. Other classes and functions the pickle calls become
// *types.GenericObject values holding their arguments: nothing in the file
// is ever executed.
type TorchFile struct {
	Root   any
	zr     *zip.Reader
	closer io.Closer
	prefix string // the archive's top directory, with a trailing slash
}

// maxPickleBytes bounds data.pkl; real checkpoints' pickles are at most a
// few megabytes, the tensors live beside them.
const maxPickleBytes = 1 << 28

// OpenTorch opens a PyTorch checkpoint and unpickles its object tree; tensor
// data is read when first asked for, so keep the file open until then.
func OpenTorch(path string) (*TorchFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	tf, err := ReadTorch(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tf.closer = f
	return tf, nil
}

// Close closes the file OpenTorch opened.
func (f *TorchFile) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// ReadTorch reads a checkpoint of size bytes from r (see OpenTorch).
func ReadTorch(r io.ReaderAt, size int64) (*TorchFile, error) {
	var magic [8]byte
	if n, _ := r.ReadAt(magic[:], 0); n >= 2 && magic[0] == 0x80 && magic[1] <= 5 {
		return nil, errors.New("torch: legacy (pre-1.6, non-zip) serialization is not supported: re-save with a current torch.save")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("torch: not a PyTorch zip checkpoint: %w", err)
	}
	f := &TorchFile{zr: zr}
	var pkl *zip.File
	for _, zf := range zr.File {
		dir, base := path.Split(zf.Name)
		if strings.Count(zf.Name, "/") != 1 {
			continue
		}
		switch base {
		case "data.pkl":
			if pkl != nil {
				return nil, errors.New("torch: more than one data.pkl in the archive")
			}
			pkl, f.prefix = zf, dir
		case "constants.pkl":
			return nil, errors.New("torch: a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
		}
	}
	if pkl == nil {
		return nil, errors.New("torch: no data.pkl in the archive: not a torch.save checkpoint")
	}
	if bo, err := f.member(f.prefix+"byteorder", 16); err == nil && string(bo) != "little" {
		return nil, fmt.Errorf("torch: byteorder %q: only little-endian checkpoints are supported", bo)
	}
	data, err := f.member(pkl.Name, maxPickleBytes)
	if err != nil {
		return nil, fmt.Errorf("torch: %s: %w", pkl.Name, err)
	}
	if err := checkPickle(data); err != nil {
		return nil, fmt.Errorf("torch: %s: %w", pkl.Name, err)
	}
	root, err := f.unpickle(data)
	if err != nil {
		return nil, fmt.Errorf("torch: %s: %w", pkl.Name, err)
	}
	f.Root = root
	return f, nil
}

// member reads a whole archive member of at most limit bytes.
func (f *TorchFile) member(name string, limit int64) ([]byte, error) {
	rc, err := f.zr.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(rc, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

func (f *TorchFile) readStorage(s *torchStorage) ([]byte, error) {
	name := f.prefix + "data/" + s.key
	want := int64(s.numel) * int64(s.dtype.Size())
	b, err := f.member(name, want)
	if err != nil {
		return nil, fmt.Errorf("torch: storage %s: %w", name, err)
	}
	if int64(len(b)) != want {
		return nil, fmt.Errorf("torch: storage %s: %d bytes, want %d (%d x %v)", name, len(b), want, s.numel, s.dtype)
	}
	return b, nil
}

// unpickle runs gopickle on a pickle checkPickle accepted, with torch's
// classes bound to data-only stand-ins. gopickle trusts its input in places
// (it may panic on a malformed object graph), so a panic is turned into an
// error.
func (f *TorchFile) unpickle(data []byte) (root any, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	storages := map[string]*torchStorage{}
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = func(module, name string) (any, error) {
		switch module + "." + name {
		case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
			return torchCallable(rebuildTensor), nil
		case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
			return torchCallable(rebuildParameter), nil
		}
		if module == "torch" {
			if dt, ok := torchStorages[name]; ok {
				return torchStorageType(dt), nil
			}
		}
		return inertClass{types.NewGenericClass(module, name)}, nil
	}
	u.PersistentLoad = func(pid any) (any, error) {
		t, ok := pid.(*types.Tuple)
		if !ok || t.Len() != 5 {
			return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, size)", pid)
		}
		kind, _ := t.Get(0).(string)
		dt, okType := t.Get(1).(torchStorageType)
		key, okKey := t.Get(2).(string)
		numel, okNumel := t.Get(4).(int)
		if kind != "storage" || !okType || !okKey || !okNumel || numel < 0 {
			return nil, fmt.Errorf("persistent id %v: want ('storage', torch.<Type>Storage, key, location, size)", pid)
		}
		if key == "" || strings.ContainsAny(key, "/\\") || key == "." || key == ".." {
			return nil, fmt.Errorf("storage key %q", key)
		}
		if s, ok := storages[key]; ok {
			if s.dtype != TorchDType(dt) || s.numel != numel {
				return nil, fmt.Errorf("storage %q used as %v x %d and %v x %d", key, s.dtype, s.numel, TorchDType(dt), numel)
			}
			return s, nil
		}
		if int64(numel) > math.MaxInt64/8 {
			return nil, fmt.Errorf("storage %q of %d elements", key, numel)
		}
		s := &torchStorage{key: key, dtype: TorchDType(dt), numel: numel, file: f}
		storages[key] = s
		return s, nil
	}
	return u.Load()
}

type torchStorageType TorchDType

// inertClass stands for any other class or function a pickle names: calling
// it (REDUCE) or instantiating it (NEWOBJ) records the arguments in a
// *types.GenericObject and runs nothing.
type inertClass struct{ *types.GenericClass }

func (c inertClass) Call(args ...any) (any, error) { return c.PyNew(args...) }

// torchCallable adapts a Go function to gopickle's REDUCE.
type torchCallable func(args ...any) (any, error)

func (c torchCallable) Call(args ...any) (any, error) { return c(args...) }

// rebuildTensor implements torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// for contiguous tensors.
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	s, ok := args[0].(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: first argument %T is not a storage", args[0])
	}
	offset, ok := args[1].(int)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset %v", args[1])
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor: size %v with stride %v", shape, stride)
	}
	numel := 1
	if !slices.Contains(shape, 0) {
		for _, d := range shape {
			if numel > s.numel/d {
				return nil, fmt.Errorf("_rebuild_tensor: size %v exceeds its storage of %d elements", shape, s.numel)
			}
			numel *= d
		}
	} else {
		numel = 0
	}
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && numel != 0 && stride[i] != want {
			return nil, fmt.Errorf("_rebuild_tensor: size %v with stride %v is not contiguous (not supported)", shape, stride)
		}
		want *= shape[i]
	}
	if offset > s.numel || numel > s.numel-offset {
		return nil, fmt.Errorf("_rebuild_tensor: %d elements at offset %d exceed their storage of %d", numel, offset, s.numel)
	}
	return &TorchTensor{Shape: shape, DType: s.dtype, storage: s, offset: offset}, nil
}

// rebuildParameter implements torch._utils._rebuild_parameter(data,
// requires_grad, backward_hooks[, state]): a Parameter is its tensor.
func rebuildParameter(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter: no arguments")
	}
	t, ok := args[0].(*TorchTensor)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: %T is not a tensor", args[0])
	}
	return t, nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%v is not a tuple", v)
	}
	if t.Len() > 64 {
		return nil, fmt.Errorf("%d dimensions", t.Len())
	}
	out := make([]int, t.Len())
	for i := range out {
		d, ok := t.Get(i).(int)
		if !ok || d < 0 {
			return nil, fmt.Errorf("%v is not a tuple of non-negative integers", v)
		}
		out[i] = d
	}
	return out, nil
}

// TorchItem is one key/value pair of a pickled dict.
type TorchItem struct {
	Key   any
	Value any
}

// TorchItems returns the entries of a pickled dict (OrderedDict or dict) in
// file order; ok is false for other values.
func TorchItems(v any) (items []TorchItem, ok bool) {
	switch d := v.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			items = append(items, TorchItem{entry.Key, entry.Value})
		}
		return items, true
	case *types.Dict:
		for _, e := range *d {
			items = append(items, TorchItem{e.Key, e.Value})
		}
		return items, true
	}
	return nil, false
}

// Get follows string keys from Root through nested dicts, e.g.
// Get("model_args", "n_layer").
func (f *TorchFile) Get(keys ...string) (any, error) {
	v := f.Root
	for i, k := range keys {
		items, ok := TorchItems(v)
		if !ok {
			return nil, fmt.Errorf("torch: %s is not a dict", strings.Join(keys[:i], "."))
		}
		found := false
		for _, it := range items {
			if s, isStr := it.Key.(string); isStr && s == k {
				v, found = it.Value, true
			}
		}
		if !found {
			return nil, fmt.Errorf("torch: no key %q", strings.Join(keys[:i+1], "."))
		}
	}
	return v, nil
}

// NamedTensor is a tensor and its dotted path in the checkpoint.
type NamedTensor struct {
	Name string
	*TorchTensor
}

// Tensors returns every tensor reachable from Root in file order, named by
// the dict keys and list indices leading to it joined with dots (a bare
// state_dict gives "fc1.weight"; nanoGPT's checkpoint "model.lm_head.weight").
func (f *TorchFile) Tensors() []NamedTensor {
	var out []NamedTensor
	// A pickle may share a container between several places, or even
	// nest it in itself: each container is walked once.
	seen := map[any]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		join := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		if t, ok := v.(*TorchTensor); ok {
			out = append(out, NamedTensor{prefix, t})
			return
		}
		switch v.(type) {
		case *types.OrderedDict, *types.Dict, *types.List, *types.Tuple:
			if seen[v] {
				return
			}
			seen[v] = true
		}
		if items, ok := TorchItems(v); ok {
			for _, it := range items {
				walk(join(keyString(it.Key)), it.Value)
			}
			return
		}
		var elems []any
		switch s := v.(type) {
		case *types.List:
			elems = *s
		case *types.Tuple:
			elems = *s
		}
		for i, e := range elems {
			walk(join(strconv.Itoa(i)), e)
		}
	}
	walk("", f.Root)
	return out
}

func keyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}
