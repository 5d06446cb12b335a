package ops

import "os"

// kernelTable is the type of vecDotTable: one entry per weight type.
type kernelTable = [len(vecDotTable)]vecDotTraits

// portableVecDot keeps the pure-Go kernels, the reference every assembly
// kernel must match bit for bit, so that they can be put back at any time.
var portableVecDot = vecDotTable

// simdLevel is one set of assembly kernels of this architecture: what the
// CPU must have, and the kernels it installs over those of the levels
// before it. Architecture files list theirs in simdLevels, lowest first
// (amd64: AVX2, then AVX-512 with VNNI); a CPU gets every level it can run.
type simdLevel struct {
	name      string
	available func() bool
	install   func(t *kernelTable)
}

// simdOn records whether the assembly kernels are installed.
var simdOn bool

// At start-up the assembly kernels replace the portable ones where the CPU
// can run them, unless INFER_NOSIMD is set (to anything but "0"): one binary
// can then run and benchmark both. INFER_SIMD=name stops at that level
// (INFER_SIMD=avx2 on an AVX-512 machine, say), to compare levels.
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

// simdAvailable reports whether this CPU can run the lowest level of
// assembly kernels, which the other assembly (attention, SwiGLU) needs too.
func simdAvailable() bool {
	return len(simdLevels) > 0 && simdLevels[0].available()
}

// availableLevels returns the levels this CPU runs, lowest first, up to
// the one INFER_SIMD names (all when it is unset or names none).
func availableLevels() []simdLevel {
	var out []simdLevel
	limit := os.Getenv("INFER_SIMD")
	for _, l := range simdLevels {
		if !l.available() {
			break
		}
		out = append(out, l)
		if l.name == limit {
			break
		}
	}
	return out
}

// installSIMD puts the kernels of every level this CPU runs into t.
func installSIMD(t *kernelTable) {
	for _, l := range availableLevels() {
		l.install(t)
	}
}

// SIMDLevel names the highest level of assembly kernels in use ("" when
// none is).
func SIMDLevel() string {
	if !simdOn {
		return ""
	}
	levels := availableLevels()
	if len(levels) == 0 {
		return ""
	}
	return levels[len(levels)-1].name
}

// simdTables returns, for each level this CPU runs, the table with the
// kernels of that level and those below it installed: the tests hold every
// level to the portable kernels' bits.
func simdTables() (names []string, tables []*kernelTable) {
	t := portableVecDot
	for _, l := range availableLevels() {
		l.install(&t)
		c := t
		names, tables = append(names, l.name), append(tables, &c)
	}
	return names, tables
}
