package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

func init() {
	register(command{name: "info", summary: "describe a GGUF file: metadata, tensors, summary", run: runInfo})
}

// arrayPreview is how many elements of an array value info shows.
const arrayPreview = 8

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	noTensors := fs.Bool("no-tensors", false, "omit the tensor table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer info [--json] [--no-tensors] model.gguf")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one GGUF file, have %d arguments", fs.NArg())
	}
	f, err := gguf.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rep := describe(f, fs.Arg(0))
	if *noTensors {
		rep.Tensors = nil
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.writeText(stdout)
	return nil
}

// infoReport is everything info prints; the text and JSON forms come from it.
type infoReport struct {
	Path       string       `json:"path"`
	Version    uint32       `json:"version"`
	Alignment  uint64       `json:"alignment"`
	FileBytes  uint64       `json:"file_bytes"`
	DataOffset uint64       `json:"data_offset"`
	Metadata   []infoKV     `json:"metadata"`
	Tensors    []infoTensor `json:"tensors,omitempty"`
	Summary    infoSummary  `json:"summary"`
}

type infoKV struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Length *int   `json:"length,omitempty"` // arrays only
	Value  any    `json:"value"`            // arrays: the first arrayPreview elements
	text   string
}

type infoTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Offset uint64   `json:"offset"`
	Bytes  uint64   `json:"bytes"`
}

type infoSummary struct {
	Architecture  string            `json:"architecture,omitempty"`
	Name          string            `json:"name,omitempty"`
	Parameters    uint64            `json:"parameters"`
	TensorCount   int               `json:"tensor_count"`
	TensorBytes   uint64            `json:"tensor_bytes"`
	ByType        []infoTypeSummary `json:"by_type"`
	ContextLength uint64            `json:"context_length,omitempty"`
	VocabSize     int               `json:"vocab_size,omitempty"`
	Unsupported   []string          `json:"unsupported_types,omitempty"`
}

type infoTypeSummary struct {
	Type       string `json:"type"`
	Tensors    int    `json:"tensors"`
	Parameters uint64 `json:"parameters"`
	Bytes      uint64 `json:"bytes"`
}

func describe(f *gguf.File, path string) infoReport {
	rep := infoReport{Path: path, Version: f.Version, Alignment: f.Alignment, FileBytes: f.Size, DataOffset: f.DataOffset}
	rep.Summary.ByType = []infoTypeSummary{}
	for _, kv := range f.KV {
		rep.Metadata = append(rep.Metadata, describeKV(kv))
	}
	byType := map[quant.Type]*infoTypeSummary{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		rep.Tensors = append(rep.Tensors, infoTensor{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Offset: t.Offset, Bytes: t.Size})
		n := t.NumElements()
		rep.Summary.Parameters += n
		rep.Summary.TensorBytes += t.Size
		s := byType[t.Type]
		if s == nil {
			s = &infoTypeSummary{Type: t.Type.String()}
			byType[t.Type] = s
		}
		s.Tensors++
		s.Parameters += n
		s.Bytes += t.Size
	}
	rep.Summary.TensorCount = len(f.Tensors)
	for typ, s := range byType {
		rep.Summary.ByType = append(rep.Summary.ByType, *s)
		if typ.Traits().Dequantize == nil {
			rep.Summary.Unsupported = append(rep.Summary.Unsupported, s.Type)
		}
	}
	sort.Slice(rep.Summary.ByType, func(i, j int) bool { return rep.Summary.ByType[i].Bytes > rep.Summary.ByType[j].Bytes })
	sort.Strings(rep.Summary.Unsupported)

	arch, _ := f.String("general.architecture")
	rep.Summary.Architecture = arch
	rep.Summary.Name, _ = f.String("general.name")
	if arch != "" {
		rep.Summary.ContextLength, _ = f.Uint64(arch + ".context_length")
	}
	if toks, err := f.Strings("tokenizer.ggml.tokens"); err == nil {
		rep.Summary.VocabSize = len(toks)
	} else if arch != "" {
		if n, err := f.Uint64(arch + ".vocab_size"); err == nil {
			rep.Summary.VocabSize = int(n)
		}
	}
	return rep
}

func describeKV(kv gguf.KV) infoKV {
	v := kv.Value
	out := infoKV{Key: kv.Key, Type: valueTypeName(v), text: v.String()}
	if v.Type != gguf.TypeArray {
		out.Value = v.Data
		return out
	}
	n, head := arrayHead(v, arrayPreview)
	out.Length = &n
	out.Value = head
	return out
}

// valueTypeName is "UINT32", or "ARRAY[STRING]" for arrays.
func valueTypeName(v gguf.Value) string {
	if v.Type == gguf.TypeArray {
		return "ARRAY[" + v.Elem.String() + "]"
	}
	return v.Type.String()
}

// arrayHead returns an array value's length and its first max elements as a
// slice that encoding/json can print.
func arrayHead(v gguf.Value, max int) (int, []any) {
	var items []any
	n := 0
	appendAll := func(get func(i int) any, length int) {
		n = length
		for i := 0; i < length && i < max; i++ {
			items = append(items, get(i))
		}
	}
	switch d := v.Data.(type) {
	case []uint8:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []int8:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []uint16:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []int16:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []uint32:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []int32:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []float32:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []bool:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []string:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []uint64:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []int64:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []float64:
		appendAll(func(i int) any { return d[i] }, len(d))
	case []gguf.Value:
		appendAll(func(i int) any {
			_, inner := arrayHead(d[i], max)
			return inner
		}, len(d))
	}
	return n, items
}

func (r *infoReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: GGUF v%d, alignment %d, %s, %d metadata keys, %d tensors (data at offset %d)\n",
		r.Path, r.Version, r.Alignment, humanBytes(r.FileBytes), len(r.Metadata), r.Summary.TensorCount, r.DataOffset)
	fmt.Fprintln(w, "\nmetadata:")
	keyWidth := 0
	for _, kv := range r.Metadata {
		keyWidth = max(keyWidth, len(kv.Key))
	}
	for _, kv := range r.Metadata {
		fmt.Fprintf(w, "  %-*s  %-14s  %s\n", keyWidth, kv.Key, kv.Type, kv.text)
	}
	if len(r.Tensors) > 0 {
		fmt.Fprintln(w, "\ntensors:")
		nameWidth := len("name")
		for _, t := range r.Tensors {
			nameWidth = max(nameWidth, len(t.Name))
		}
		fmt.Fprintf(w, "  %-*s  %-7s  %-22s  %12s  %12s\n", nameWidth, "name", "type", "shape", "offset", "bytes")
		for _, t := range r.Tensors {
			fmt.Fprintf(w, "  %-*s  %-7s  %-22s  %12d  %12d\n", nameWidth, t.Name, t.Type, shapeString(t.Shape), t.Offset, t.Bytes)
		}
	}
	s := &r.Summary
	fmt.Fprintln(w, "\nsummary:")
	if s.Architecture != "" {
		fmt.Fprintf(w, "  architecture    %s\n", s.Architecture)
	}
	if s.Name != "" {
		fmt.Fprintf(w, "  name            %s\n", s.Name)
	}
	fmt.Fprintf(w, "  parameters      %d (%s)\n", s.Parameters, humanCount(s.Parameters))
	fmt.Fprintf(w, "  tensors         %d, %s\n", s.TensorCount, humanBytes(s.TensorBytes))
	for _, t := range s.ByType {
		bpw := 0.0
		if t.Parameters > 0 {
			bpw = float64(t.Bytes) * 8 / float64(t.Parameters)
		}
		fmt.Fprintf(w, "    %-8s %4d tensors  %12d params  %10s  %.2f bits/weight\n", t.Type, t.Tensors, t.Parameters, humanBytes(t.Bytes), bpw)
	}
	if s.ContextLength > 0 {
		fmt.Fprintf(w, "  context length  %d\n", s.ContextLength)
	}
	if s.VocabSize > 0 {
		fmt.Fprintf(w, "  vocab size      %d\n", s.VocabSize)
	}
	if len(s.Unsupported) > 0 {
		fmt.Fprintf(w, "  unsupported     %s (infer can list these tensors but not compute with them)\n", strings.Join(s.Unsupported, ", "))
	}
}

func shapeString(dims []uint64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
