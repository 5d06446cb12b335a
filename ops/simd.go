package ops

import "os"

// portableVecDot keeps the pure-Go kernels, the reference every assembly
// kernel must match bit for bit, so that they can be put back at any time.
var portableVecDot = vecDotTable

// simdOn records whether the assembly kernels are installed.
var simdOn bool

// At start-up the assembly kernels replace the portable ones where the CPU
// can run them, unless INFER_NOSIMD is set (to anything but "0"): one binary
// can then run and benchmark both.
func init() {
	v := os.Getenv("INFER_NOSIMD")
	SetSIMD(v == "" || v == "0")
}

// SetSIMD installs the architecture's assembly kernels (on) or the portable
// ones (off) and reports whether assembly kernels are now in use: false when
// off, or when this CPU or build has none. Both give the same bits; the
// switch exists to test and benchmark one against the other. It must not be
// called while a MatMul runs.
func SetSIMD(on bool) bool {
	vecDotTable = portableVecDot
	simdOn = on && simdAvailable()
	if simdOn {
		installSIMD(&vecDotTable)
	}
	return simdOn
}

// SIMD reports whether MatMul uses assembly kernels (see SetSIMD).
func SIMD() bool { return simdOn }
