// Package quant implements ggml's tensor element types: their block layouts,
// dequantization and the reference quantizers, byte-exact with ggml.
//
// Every type is described once, in the traits table below; code elsewhere asks
// the table (block size, bytes per block, the conversion functions) instead of
// switching on the type.
package quant

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor element type, numbered as in ggml's enum ggml_type
// (the numbers are what GGUF files store).
type Type uint32

const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

// Traits describes one element type. Values are stored in blocks of
// BlockSize elements taking TypeSize bytes; a row of n elements (n a multiple
// of BlockSize) takes n/BlockSize*TypeSize bytes.
type Traits struct {
	Name      string
	BlockSize int
	TypeSize  int

	// Dequantize expands len(dst) elements (a multiple of BlockSize) from src,
	// which holds exactly len(dst)/BlockSize blocks. Nil: the type is known
	// (so files holding it can be listed) but infer cannot compute with it.
	Dequantize func(dst []float32, src []byte)
	// Quantize is ggml's reference quantizer (no importance matrix): it fills
	// dst, len(src)/BlockSize blocks, from len(src) elements. Nil: infer
	// cannot produce the type.
	Quantize func(dst []byte, src []float32)
}

// traits is indexed by Type; entries with an empty Name are ids ggml has
// retired or never used.
var traits = [...]Traits{
	F32:     {Name: "F32", BlockSize: 1, TypeSize: 4, Dequantize: DequantizeF32, Quantize: QuantizeF32},
	F16:     {Name: "F16", BlockSize: 1, TypeSize: 2, Dequantize: DequantizeF16, Quantize: QuantizeF16},
	Q4_0:    {Name: "Q4_0", BlockSize: 32, TypeSize: 18, Dequantize: DequantizeQ4_0, Quantize: QuantizeQ4_0},
	Q4_1:    {Name: "Q4_1", BlockSize: 32, TypeSize: 20, Dequantize: DequantizeQ4_1, Quantize: QuantizeQ4_1},
	Q5_0:    {Name: "Q5_0", BlockSize: 32, TypeSize: 22, Dequantize: DequantizeQ5_0, Quantize: QuantizeQ5_0},
	Q5_1:    {Name: "Q5_1", BlockSize: 32, TypeSize: 24, Dequantize: DequantizeQ5_1, Quantize: QuantizeQ5_1},
	Q8_0:    {Name: "Q8_0", BlockSize: 32, TypeSize: 34, Dequantize: DequantizeQ8_0, Quantize: QuantizeQ8_0},
	Q8_1:    {Name: "Q8_1", BlockSize: 32, TypeSize: 36, Dequantize: DequantizeQ8_1, Quantize: QuantizeQ8_1},
	Q2_K:    {Name: "Q2_K", BlockSize: 256, TypeSize: 84, Dequantize: DequantizeQ2K, Quantize: QuantizeQ2K},
	Q3_K:    {Name: "Q3_K", BlockSize: 256, TypeSize: 110, Dequantize: DequantizeQ3K, Quantize: QuantizeQ3K},
	Q4_K:    {Name: "Q4_K", BlockSize: 256, TypeSize: 144, Dequantize: DequantizeQ4K, Quantize: QuantizeQ4K},
	Q5_K:    {Name: "Q5_K", BlockSize: 256, TypeSize: 176, Dequantize: DequantizeQ5K, Quantize: QuantizeQ5K},
	Q6_K:    {Name: "Q6_K", BlockSize: 256, TypeSize: 210, Dequantize: DequantizeQ6K, Quantize: QuantizeQ6K},
	Q8_K:    {Name: "Q8_K", BlockSize: 256, TypeSize: 292, Dequantize: DequantizeQ8K, Quantize: QuantizeQ8K},
	IQ2_XXS: {Name: "IQ2_XXS", BlockSize: 256, TypeSize: 66},
	IQ2_XS:  {Name: "IQ2_XS", BlockSize: 256, TypeSize: 74},
	IQ3_XXS: {Name: "IQ3_XXS", BlockSize: 256, TypeSize: 98},
	IQ1_S:   {Name: "IQ1_S", BlockSize: 256, TypeSize: 50},
	IQ4_NL:  {Name: "IQ4_NL", BlockSize: 32, TypeSize: 18, Dequantize: DequantizeIQ4NL, Quantize: QuantizeIQ4NL},
	IQ3_S:   {Name: "IQ3_S", BlockSize: 256, TypeSize: 110},
	IQ2_S:   {Name: "IQ2_S", BlockSize: 256, TypeSize: 82},
	IQ4_XS:  {Name: "IQ4_XS", BlockSize: 256, TypeSize: 136},
	I8:      {Name: "I8", BlockSize: 1, TypeSize: 1},
	I16:     {Name: "I16", BlockSize: 1, TypeSize: 2},
	I32:     {Name: "I32", BlockSize: 1, TypeSize: 4},
	I64:     {Name: "I64", BlockSize: 1, TypeSize: 8},
	F64:     {Name: "F64", BlockSize: 1, TypeSize: 8},
	IQ1_M:   {Name: "IQ1_M", BlockSize: 256, TypeSize: 56},
	BF16:    {Name: "BF16", BlockSize: 1, TypeSize: 2, Dequantize: DequantizeBF16, Quantize: QuantizeBF16},
	TQ1_0:   {Name: "TQ1_0", BlockSize: 256, TypeSize: 54},
	TQ2_0:   {Name: "TQ2_0", BlockSize: 256, TypeSize: 66},
	MXFP4:   {Name: "MXFP4", BlockSize: 32, TypeSize: 17},
}

// Known reports whether t is a type id ggml defines (supported or not).
func (t Type) Known() bool { return int(t) < len(traits) && traits[t].Name != "" }

// Traits returns the description of t, or nil for an id ggml does not define.
func (t Type) Traits() *Traits {
	if !t.Known() {
		return nil
	}
	return &traits[t]
}

// String returns ggml's name for t ("Q4_K"), or "type(N)" for an unknown id.
func (t Type) String() string {
	if !t.Known() {
		return fmt.Sprintf("type(%d)", uint32(t))
	}
	return traits[t].Name
}

// BlockSize is the number of elements in one block of t (0 for unknown ids).
func (t Type) BlockSize() int {
	if !t.Known() {
		return 0
	}
	return traits[t].BlockSize
}

// TypeSize is the number of bytes of one block of t (0 for unknown ids).
func (t Type) TypeSize() int {
	if !t.Known() {
		return 0
	}
	return traits[t].TypeSize
}

// RowSize returns the bytes taken by n elements of type t, or an error when t
// is unknown or n is not a whole number of blocks.
func (t Type) RowSize(n int) (int, error) {
	if !t.Known() {
		return 0, fmt.Errorf("unknown ggml type id %d", uint32(t))
	}
	tr := &traits[t]
	if n < 0 || n%tr.BlockSize != 0 {
		return 0, fmt.Errorf("%s: %d elements is not a multiple of the block size %d", tr.Name, n, tr.BlockSize)
	}
	return n / tr.BlockSize * tr.TypeSize, nil
}

// ParseType finds a type by its ggml name, case-insensitively ("q4_k", "F16").
func ParseType(name string) (Type, error) {
	for i := range traits {
		if traits[i].Name != "" && strings.EqualFold(traits[i].Name, name) {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}

// Dequantize expands len(dst) elements of type t from src. It checks the
// sizes and that infer implements t, so callers need no checks of their own.
func Dequantize(t Type, dst []float32, src []byte) error {
	tr := t.Traits()
	if tr == nil {
		return fmt.Errorf("unknown ggml type id %d", uint32(t))
	}
	if tr.Dequantize == nil {
		return fmt.Errorf("tensor type %s is not supported", tr.Name)
	}
	want, err := t.RowSize(len(dst))
	if err != nil {
		return err
	}
	if len(src) != want {
		return fmt.Errorf("%s: %d elements need %d bytes, have %d", tr.Name, len(dst), want, len(src))
	}
	tr.Dequantize(dst, src)
	return nil
}

// Quantize fills dst with the type-t encoding of src, checking sizes and
// support like Dequantize.
func Quantize(t Type, dst []byte, src []float32) error {
	tr := t.Traits()
	if tr == nil {
		return fmt.Errorf("unknown ggml type id %d", uint32(t))
	}
	if tr.Quantize == nil {
		return fmt.Errorf("quantizing to %s is not supported", tr.Name)
	}
	want, err := t.RowSize(len(src))
	if err != nil {
		return err
	}
	if len(dst) != want {
		return fmt.Errorf("%s: %d elements need %d bytes, have %d", tr.Name, len(src), want, len(dst))
	}
	tr.Quantize(dst, src)
	return nil
}
