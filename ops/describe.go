package ops

import (
	"reflect"

	"github.com/infer-go/infer/quant"
)

// Kernel says which dot-product kernels MatMul uses for one weight type.
type Kernel struct {
	Type quant.Type
	// Impl names the highest level of assembly (simd.go: "avx2", "avx512",
	// "neon") whose kernels this type uses, its dot products or its tile
	// kernels; "portable" (pure Go) when assembly is off (SetSIMD) or has
	// none for the type.
	Impl string
}

// Kernels lists, for every weight type MatMul supports, the kernels chosen at
// start-up for this CPU, for `infer version` and bug reports.
func Kernels() []Kernel {
	var names []string
	var tables []*kernelTable
	if simdOn {
		names, tables = simdTables()
	}
	var ks []Kernel
	for t := range vecDotTable {
		if vecDotTable[t].VecDot == nil {
			continue
		}
		impl, prev := "portable", &portableVecDot[t]
		for i, tab := range tables {
			if !sameKernels(prev, &tab[t]) {
				impl = names[i]
			}
			prev = &tab[t]
		}
		ks = append(ks, Kernel{Type: quant.Type(t), Impl: impl})
	}
	return ks
}

// sameKernels reports whether a and b compute products with the same
// functions: dot products and tile kernels.
func sameKernels(a, b *vecDotTraits) bool {
	same := func(f, g func(int, []byte, []byte) float32) bool {
		return reflect.ValueOf(f).Pointer() == reflect.ValueOf(g).Pointer()
	}
	return same(a.VecDot, b.VecDot) && same(a.VecDotBatch, b.VecDotBatch) && same(a.VecDotRepacked, b.VecDotRepacked) &&
		a.Tile == b.Tile && a.BatchTile == b.BatchTile && a.RepackedTile == b.RepackedTile
}
