package model

import (
	"fmt"
	"strings"
	"sync"

	"github.com/infer-go/infer/quant"
)

// CacheType is the element type of a KV cache. The zero value is F16, like
// llama.cpp's default --cache-type-k/-v f16; F32 keeps keys and values
// exactly, in twice the memory. It is a flag.Value.
type CacheType uint8

const (
	CacheF16 CacheType = iota
	CacheF32
)

// ParseCacheType reads "f16" or "f32" (any case).
func ParseCacheType(s string) (CacheType, error) {
	switch strings.ToLower(s) {
	case "f16":
		return CacheF16, nil
	case "f32":
		return CacheF32, nil
	}
	return 0, fmt.Errorf("KV cache type %q is not supported (f16 or f32)", s)
}

func (c CacheType) String() string {
	if c == CacheF32 {
		return "f32"
	}
	return "f16"
}

// Set implements flag.Value.
func (c *CacheType) Set(s string) error {
	t, err := ParseCacheType(s)
	if err == nil {
		*c = t
	}
	return err
}

// elemType is the cache's element type in quant's terms.
func (c CacheType) elemType() quant.Type {
	if c == CacheF32 {
		return quant.F32
	}
	return quant.F16
}

// KVCache holds every layer's keys and values for the positions seen so far:
// [layers][positions][dim] for K and for V, where dim is head_count_kv *
// head_dim. Like llama.cpp's default (--cache-type-k/-v f16) the elements
// are F16, rounded when stored; F32 keeps them exactly.
type KVCache struct {
	Type   quant.Type // quant.F16 or quant.F32 (CacheType.elemType)
	Layers int
	Len    int // positions per layer
	Dim    int // elements per position

	k16, v16 []uint16  // F16 cache
	k32, v32 []float32 // F32 cache

	scratch sync.Pool // of *attentionScratch
}

// NewKVCache allocates a cache of layers x length x dim keys and as many values.
func NewKVCache(ct CacheType, layers, length, dim int) *KVCache {
	c := &KVCache{Type: ct.elemType(), Layers: layers, Len: length, Dim: dim}
	c.scratch.New = func() any { return new(attentionScratch) }
	n := layers * length * dim
	if c.Type == quant.F32 {
		c.k32, c.v32 = make([]float32, n), make([]float32, n)
	} else {
		c.k16, c.v16 = make([]uint16, n), make([]uint16, n)
	}
	return c
}

// Bytes is the memory the cache holds (K and V together).
func (c *KVCache) Bytes() int64 {
	return 2 * int64(c.Layers) * int64(c.Len) * int64(c.Dim) * int64(c.Type.TypeSize())
}

// offset is the index of position pos of layer l's first element.
func (c *KVCache) offset(l, pos int) int { return (l*c.Len + pos) * c.Dim }

// Store writes the keys and values of n consecutive positions starting at
// pos into layer l; k and v hold n rows of Dim elements.
func (c *KVCache) Store(l, pos, n int, k, v []float32) {
	o, m := c.offset(l, pos), n*c.Dim
	if c.Type == quant.F16 {
		toF16(c.k16[o:o+m], k[:m])
		toF16(c.v16[o:o+m], v[:m])
		return
	}
	copy(c.k32[o:o+m], k[:m])
	copy(c.v32[o:o+m], v[:m])
}

func toF16(dst []uint16, src []float32) {
	for i, x := range src {
		dst[i] = quant.F32ToF16(x)
	}
}
