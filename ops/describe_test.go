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
