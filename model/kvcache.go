package model

import (
	"fmt"
	"sync"

	"github.com/infer-go/infer/quant"
)

// KVCache holds every layer's keys and values for the positions seen so far:
// [layers][positions][dim] for K and for V, where dim is head_count_kv *
// head_dim. Like llama.cpp's default (--cache-type-k/-v f16) the elements
// are F16, rounded when stored; F32 keeps them exactly.
type KVCache struct {
	Type   quant.Type // quant.F16 or quant.F32
	Layers int
	Len    int // positions per layer
	Dim    int // elements per position

	k16, v16 []uint16  // F16 cache
	k32, v32 []float32 // F32 cache

	scratch sync.Pool // of *attentionScratch
}

// NewKVCache allocates a cache of layers x length x dim keys and as many values.
func NewKVCache(typ quant.Type, layers, length, dim int) (*KVCache, error) {
	c := &KVCache{Type: typ, Layers: layers, Len: length, Dim: dim}
	c.scratch.New = func() any { return new(attentionScratch) }
	n := layers * length * dim
	switch typ {
	case quant.F16:
		c.k16, c.v16 = make([]uint16, n), make([]uint16, n)
	case quant.F32:
		c.k32, c.v32 = make([]float32, n), make([]float32, n)
	default:
		return nil, fmt.Errorf("KV cache type %v is not supported (F16 or F32)", typ)
	}
	return c, nil
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
