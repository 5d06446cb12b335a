//go:build amd64 && !purego

package ops

import "github.com/infer-go/infer/quant"

// The AVX-512 tile kernels (tile_avx512_amd64.s). Each assembly routine
// takes whole groups of rows and whole blocks; its Go wrapper checks the
// sizes, hands it every whole group and leaves the rest of the rows to the
// route's dot function, which gives the same bits.

// installAVX512 puts the AVX-512 kernels into t, over AVX2's.
func installAVX512(t *kernelTable) {
	t[quant.Q4_0].RepackedTile = &tileKernel{rowGroup: 16, actExtra: q4_0RepackedExtra, prep: prepQ4_0RepackedAVX2, mul: mulQ4_0RepackedAVX512}
	t[quant.Q8_0].Tile = &tileKernel{rowGroup: 8, mul: mulQ8_0AVX512}
	t[quant.Q4_K].Tile = &tileKernel{rowGroup: 1, mul: mulQ4KAVX512}
	t[quant.Q6_K].Tile = &tileKernel{rowGroup: 1, mul: mulQ6KAVX512}
	t[quant.Q5_K].Tile = &tileKernel{rowGroup: 1, mul: mulQ5KAVX512}
}

// q8_0TileAVX512 computes vecDotQ8_0Q8_0 of 8 weight rows of nb blocks
// (row i at w + i*rowSize) with nact <= 4 activation rows (row r at act +
// r*actStride), into dst[r*dstStride + i]: per output eight float lanes,
// lane l getting per block fma(d_w·d_y, Σ w·y over elements 4l..4l+3,
// lane), then hsum8.
//
//go:noescape
func q8_0TileAVX512(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ8_0AVX512(m *tileArgs) {
	nb := m.cols / 32
	if m.rowSize != nb*34 || m.actSize != nb*34 || nb == 0 {
		panic("ops: Q8_0 tile: bad sizes")
	}
	full := m.rows &^ 7
	if full > 0 {
		_ = m.w[full*m.rowSize-1]
		_ = m.act[(m.acts-1)*m.actStride+m.actSize-1]
		_ = m.dst[(m.acts-1)*m.dstStride+full-1]
	}
	for i0 := 0; i0 < full; i0 += 8 {
		for r0 := 0; r0 < m.acts; r0 += 4 {
			q8_0TileAVX512(&m.w[i0*m.rowSize], m.rowSize, &m.act[r0*m.actStride], m.actStride,
				min(4, m.acts-r0), nb, &m.dst[r0*m.dstStride+i0], m.dstStride)
		}
	}
	if full < m.rows {
		rest := m.sub(full, m.rows, 0, m.acts)
		mulByDot(&rest)
	}
}

// q4_0RTileAVX512 computes, for 16 weight rows of nb Q4_0 blocks (row i at
// w + i*rowSize) and nact <= 8 activation rows prepared by
// prepQ4_0Repacked (row r at act + r*actStride), every output of
// vecDotQ4_0Q8_0Repacked: per block the exact integer Σ (q-8)·y, then
// acc = fma(float(sum), d_w·d_y, acc), one output per lane; output (i, r)
// goes to dst[r*dstStride + i].
//
//go:noescape
func q4_0RTileAVX512(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ4_0RepackedAVX512(m *tileArgs) {
	nb := m.cols / 32
	if m.rowSize != nb*18 || m.actStride < m.actSize+nb*40 || nb == 0 {
		panic("ops: Q4_0 tile: bad sizes")
	}
	full := m.rows &^ 15
	if full > 0 {
		_ = m.w[full*m.rowSize-1]
		_ = m.act[(m.acts-1)*m.actStride+m.actSize+nb*40-1]
		_ = m.dst[(m.acts-1)*m.dstStride+full-1]
	}
	for i0 := 0; i0 < full; i0 += 16 {
		for r0 := 0; r0 < m.acts; r0 += 8 {
			q4_0RTileAVX512(&m.w[i0*m.rowSize], m.rowSize, &m.act[r0*m.actStride+m.actSize], m.actStride,
				min(8, m.acts-r0), nb, &m.dst[r0*m.dstStride+i0], m.dstStride)
		}
	}
	if full < m.rows {
		rest := m.sub(full, m.rows, 0, m.acts)
		mulByDot(&rest)
	}
}

// q4KTileAVX512 computes vecDotQ4KQ8K of nrows rows of nb Q4_K blocks (row
// i at w + i*rowSize) with nact <= 8 Q8_K activation rows (row r at act +
// r*actStride), into dst[r*dstStride + i].
//
//go:noescape
func q4KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ4KAVX512(m *tileArgs) {
	nb := m.cols / 256
	if m.rowSize != nb*144 || m.actSize != nb*q8KSize || nb == 0 {
		panic("ops: Q4_K tile: bad sizes")
	}
	_ = m.w[m.rows*m.rowSize-1]
	_ = m.act[(m.acts-1)*m.actStride+m.actSize-1]
	_ = m.dst[(m.acts-1)*m.dstStride+m.rows-1]
	mulKRows(m, q4KTileAVX512)
}

// q6KTileAVX512 is q4KTileAVX512 for Q6_K weights (vecDotQ6KQ8K).
//
//go:noescape
func q6KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ6KAVX512(m *tileArgs) {
	nb := m.cols / 256
	if m.rowSize != nb*210 || m.actSize != nb*q8KSize || nb == 0 {
		panic("ops: Q6_K tile: bad sizes")
	}
	_ = m.w[m.rows*m.rowSize-1]
	_ = m.act[(m.acts-1)*m.actStride+m.actSize-1]
	_ = m.dst[(m.acts-1)*m.dstStride+m.rows-1]
	mulKRows(m, q6KTileAVX512)
}

// q5KTileAVX512 is q4KTileAVX512 for Q5_K weights (vecDotQ5KQ8K).
//
//go:noescape
func q5KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ5KAVX512(m *tileArgs) {
	nb := m.cols / 256
	if m.rowSize != nb*176 || m.actSize != nb*q8KSize || nb == 0 {
		panic("ops: Q5_K tile: bad sizes")
	}
	_ = m.w[m.rows*m.rowSize-1]
	_ = m.act[(m.acts-1)*m.actStride+m.actSize-1]
	_ = m.dst[(m.acts-1)*m.dstStride+m.rows-1]
	mulKRows(m, q5KTileAVX512)
}

// mulKRows runs a K-quant tile kernel over m: a few rows (in L1) against
// every group of eight activation rows, the rows taken in one call per
// group so that the kernel's set-up is paid once per group, not per row.
func mulKRows(m *tileArgs, kernel func(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)) {
	nb := m.cols / 256
	if m.rows == 0 {
		return
	}
	rowBlock := m.rows // one activation row: all the rows in one call
	if m.acts > 8 {
		rowBlock = 16
	}
	for i0 := 0; i0 < m.rows; i0 += rowBlock {
		n := min(rowBlock, m.rows-i0)
		for r0 := 0; r0 < m.acts; r0 += 8 {
			kernel(&m.w[i0*m.rowSize], m.rowSize, n, &m.act[r0*m.actStride], m.actStride, min(8, m.acts-r0), nb,
				&m.dst[r0*m.dstStride+i0], m.dstStride)
		}
	}
}
