package ops

import (
	"testing"

	"github.com/infer-go/infer/quant"
)

// TestKernelsFollowSetSIMD: with assembly off every kernel is portable; with
// it on (where this CPU has it) Q8_0 at least is not.
func TestKernelsFollowSetSIMD(t *testing.T) {
	was := SIMD()
	defer SetSIMD(was)
	SetSIMD(false)
	for _, k := range Kernels() {
		if k.Impl != "portable" {
			t.Errorf("SIMD off: %s uses %s", k.Type, k.Impl)
		}
	}
	if !SetSIMD(true) {
		t.Skip("no assembly kernels on this CPU or build")
	}
	found := false
	for _, k := range Kernels() {
		if k.Type == quant.Q8_0 {
			found = true
			if k.Impl == "portable" {
				t.Errorf("SIMD on: Q8_0 still portable")
			}
		}
	}
	if !found {
		t.Error("Q8_0 missing from Kernels")
	}
}

// TestKernelsNameTheirLevel checks the level Kernels names for a few types
// whose kernels are known: Q4_K has tile kernels at the highest amd64 level
// and a dot product at every level, F16 assembly only from AVX2 (or NEON),
// Q4_1 no assembly at all.
func TestKernelsNameTheirLevel(t *testing.T) {
	was := SIMD()
	defer SetSIMD(was)
	if !SetSIMD(true) {
		t.Skip("no assembly kernels on this CPU or build")
	}
	names, _ := simdTables()
	top := names[len(names)-1]
	want := map[quant.Type]string{quant.Q4_K: top, quant.Q4_1: "portable"}
	switch top {
	case "avx2", "avx512":
		want[quant.F16] = "avx2"
	case "neon":
		want[quant.F16] = "neon"
	}
	got := map[quant.Type]string{}
	for _, k := range Kernels() {
		got[k.Type] = k.Impl
	}
	for typ, w := range want {
		if got[typ] != w {
			t.Errorf("levels %v: %s uses %q, want %q", names, typ, got[typ], w)
		}
	}
}
