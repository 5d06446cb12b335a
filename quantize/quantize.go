// Package quantize writes GGUF models with their weights in one of
// llama.cpp's quantization schemes (Q8_0, Q4_K_M ...), the way llama.cpp's
// llama-quantize does it (src/llama-quant.cpp at the reference commit): the
// same tensors are quantized, the _S/_M/_L mixtures give the same tensors
// more bits, rows that do not fit a type's blocks fall back to the same
// types, and because quant reproduces ggml's reference quantizers byte for
// byte, File writes the file llama-quantize writes without an importance
// matrix.
//
// File requantizes a GGUF file. Plan and Write are the same planner and
// streaming writer for models that come from elsewhere (convert's
// converters, synth's generated weights): they give each tensor its type by
// the same rules and write the tensors one at a time, so that memory stays
// near one tensor's size whatever the model's.
package quantize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// Options tune File and Write.
type Options struct {
	// Pure gives every quantizable tensor the scheme's base type: no
	// mixture rules, no special output or embedding types (llama-quantize
	// --pure). Row lengths that do not fit still fall back.
	Pure bool
	// Threads converts rows in parallel; <= 0 uses every CPU. The output does
	// not depend on it.
	Threads int
	// Progress, if set, is called as tensors are written with the tensor
	// being converted and the number of elements done so far and in all.
	Progress func(tensor string, done, total uint64)
	// Context cancels a run between batches of rows; nil: never.
	Context context.Context
}

// Result describes a finished run.
type Result struct {
	Tensors []TensorPlan // in output order
	Elapsed time.Duration
}

// TypeSummary totals the tensors that ended up with one type.
type TypeSummary struct {
	Type             quant.Type
	Tensors          int
	Elements         uint64
	SizeFrom, SizeTo uint64
	Fallbacks        int
}

// Summary totals r's tensors by output type, in ggml type order.
func (r *Result) Summary() []TypeSummary {
	byType := map[quant.Type]*TypeSummary{}
	for i := range r.Tensors {
		t := &r.Tensors[i]
		s := byType[t.To]
		if s == nil {
			s = &TypeSummary{Type: t.To}
			byType[t.To] = s
		}
		s.Tensors++
		s.Elements += t.Elements
		s.SizeFrom += t.SizeFrom
		s.SizeTo += t.SizeTo
		if t.Fallback {
			s.Fallbacks++
		}
	}
	out := make([]TypeSummary, 0, len(byType))
	for _, s := range byType {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b TypeSummary) int { return int(a.Type) - int(b.Type) })
	return out
}

// File writes out, a copy of the GGUF model in with its weight matrices
// converted to scheme ft, like llama-quantize. Tensors are streamed one at a
// time, so memory stays near one tensor's size; the file is written
// atomically, so on any error (or cancellation) out is left as it was.
func File(in, out string, ft FileType, opts Options) (*Result, error) {
	start := time.Now()
	if err := CheckDistinct(in, out); err != nil {
		return nil, err
	}
	f, err := gguf.Open(in)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", in, err)
	}
	defer f.Close()

	if n, err := f.Uint32("split.count"); err == nil && n > 1 {
		return nil, fmt.Errorf("%s is one of %d parts of a split model; merge the parts first", in, n)
	}
	plans, err := PlanFile(f, ft, opts.Pure)
	if err != nil {
		return nil, err
	}

	w := gguf.NewWriter()
	for _, kv := range f.KV {
		switch kv.Key {
		case "general.quantization_version", "general.file_type",
			"split.no", "split.count", "split.tensors.count":
			continue
		}
		w.AddKV(kv.Key, kv.Value)
	}
	// llama.cpp's gguf_set_val_* removes a key and appends it, so these two
	// end the list whatever their place in the input.
	w.AddKV("general.quantization_version", gguf.ValueOf(uint32(2)))
	w.AddKV("general.file_type", gguf.ValueOf(ft.ID))

	res, err := Write(w, out, plans, opts, func(p *TensorPlan) (*gguf.TensorInfo, error) { return p.src, nil })
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// Write adds the planned tensors to w, whose metadata the caller has set,
// and writes w to out atomically: on any error (or cancellation) out is left
// as it was. Each tensor's data is asked of source while it is written, then
// converted to its planned type (To) and dropped, so that one tensor at a
// time is held in memory; source returns the tensor with its data, of shape
// Dims, in any type quant can decode (usually From). Elapsed covers the
// writing.
func Write(w *gguf.Writer, out string, plans []TensorPlan, opts Options, source func(p *TensorPlan) (*gguf.TensorInfo, error)) (*Result, error) {
	start := time.Now()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	var total, done uint64
	for i := range plans {
		total += plans[i].Elements
	}
	for i := range plans {
		p := &plans[i]
		progress := func(n uint64) {
			done += n
			if opts.Progress != nil {
				opts.Progress(p.Name, done, total)
			}
		}
		err := w.AddTensorFunc(p.Name, p.To, p.Dims, func(dst io.Writer) error {
			src, err := source(p)
			if err != nil {
				return err
			}
			if !slices.Equal(src.Dims, p.Dims) {
				return fmt.Errorf("tensor %q: shape %v, planned as %v", p.Name, src.Dims, p.Dims)
			}
			want, err := tensorBytes(src)
			if err != nil {
				return fmt.Errorf("tensor %q: %w", p.Name, err)
			}
			if uint64(len(src.Data)) != want {
				return fmt.Errorf("tensor %q: %d bytes of %s %v, want %d", p.Name, len(src.Data), src.Type, src.Dims, want)
			}
			if err := convertTensor(ctx, dst, src, p.To, threads, progress); err != nil {
				return fmt.Errorf("tensor %q: %w", p.Name, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := w.WriteFile(out); err != nil {
		return nil, err
	}
	for i := range plans {
		plans[i].src = nil // the mapping is about to go
	}
	return &Result{Tensors: plans, Elapsed: time.Since(start)}, nil
}

// tensorBytes is the size of t's data: whole rows of its type.
func tensorBytes(t *gguf.TensorInfo) (uint64, error) {
	rowLen := rowLength(t)
	size, err := t.Type.RowSize(int(rowLen))
	if err != nil {
		return 0, err
	}
	return uint64(size) * (t.NumElements() / rowLen), nil
}

// CheckDistinct refuses to write a model over one of its inputs: the output
// replaces the file the input is read (or mapped) from.
func CheckDistinct(in, out string) error {
	ai, err1 := filepath.Abs(in)
	ao, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil && ai == ao {
		return fmt.Errorf("input and output are the same file (%s)", in)
	}
	si, err1 := os.Stat(in)
	so, err2 := os.Stat(out)
	if err1 == nil && err2 == nil && os.SameFile(si, so) {
		return fmt.Errorf("input %s and output %s are the same file", in, out)
	}
	return nil
}

// quantBatchElements bounds the elements converted between writes, which
// bounds the memory a tensor's conversion takes.
const quantBatchElements = 1 << 20

// convertTensor writes src's data converted to type to: row by row through
// float32, rows spread over threads goroutines, each row's bytes depending
// only on that row, so the output is the same for any thread count.
func convertTensor(ctx context.Context, dst io.Writer, src *gguf.TensorInfo, to quant.Type, threads int, progress func(uint64)) error {
	rowLen := int(rowLength(src))
	nRows := int(src.NumElements()) / rowLen
	srcRow, err := src.Type.RowSize(rowLen)
	if err != nil {
		return err
	}
	dstRow, err := to.RowSize(rowLen)
	if err != nil {
		return err
	}
	batch := min(nRows, max(threads, quantBatchElements/rowLen, 1))
	if src.Type == to {
		for r := 0; r < nRows; r += batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(batch, nRows-r)
			if _, err := dst.Write(src.Data[r*srcRow : (r+n)*srcRow]); err != nil {
				return err
			}
			progress(uint64(n * rowLen))
		}
		return nil
	}

	out := make([]byte, batch*dstRow)
	rowBufs := make([][]float32, threads)
	errs := make([]error, threads)
	for r0 := 0; r0 < nRows; r0 += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(batch, nRows-r0)
		per := (n + threads - 1) / threads
		var wg sync.WaitGroup
		for g := range threads {
			lo, hi := g*per, min((g+1)*per, n)
			if lo >= hi {
				break
			}
			if rowBufs[g] == nil {
				rowBufs[g] = make([]float32, rowLen)
			}
			wg.Go(func() {
				row := rowBufs[g]
				for r := lo; r < hi; r++ {
					i := r0 + r
					if err := quant.Dequantize(src.Type, row, src.Data[i*srcRow:(i+1)*srcRow]); err != nil {
						errs[g] = err
						return
					}
					if err := quant.Quantize(to, out[r*dstRow:(r+1)*dstRow], row); err != nil {
						errs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := dst.Write(out[:n*dstRow]); err != nil {
			return err
		}
		progress(uint64(n * rowLen))
	}
	return nil
}
