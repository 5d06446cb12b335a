package ops

import (
	"reflect"
	"runtime"

	"github.com/infer-go/infer/quant"
)

// Kernel says which dot-product kernel MatMul uses for one weight type.
type Kernel struct {
	Type quant.Type
	// Impl is "avx2" or "neon" when the assembly kernel is installed
	// (SetSIMD), else "portable" (pure Go).
	Impl string
}

// Kernels lists, for every weight type MatMul supports, the kernel chosen at
// start-up for this CPU, for `infer version` and bug reports.
func Kernels() []Kernel {
	simdName := map[string]string{"amd64": "avx2", "arm64": "neon"}[runtime.GOARCH]
	var ks []Kernel
	for t := range vecDotTable {
		tr := &vecDotTable[t]
		if tr.VecDot == nil {
			continue
		}
		impl := "portable"
		if simdName != "" && reflect.ValueOf(tr.VecDot).Pointer() != reflect.ValueOf(portableVecDot[t].VecDot).Pointer() {
			impl = simdName
		}
		ks = append(ks, Kernel{Type: quant.Type(t), Impl: impl})
	}
	return ks
}
