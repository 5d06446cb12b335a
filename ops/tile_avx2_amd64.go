//go:build amd64 && !purego

package ops

// The AVX2 tile kernels (tile_avx2_amd64.s), installed by installAVX2 and
// replaced by AVX-512's where the CPU has it. As with those, each wrapper
// checks the sizes and leaves what the assembly does not take (rows past
// the last whole group) to the route's dot function, which gives the same
// bits.

// q4_0RVecAVX2 computes vecDotQ4_0Q8_0Repacked of 8 weight rows of nb
// blocks (row i at w + i*rowSize) with one activation row prepared by
// prepQ4_0Repacked, into dst[0..7].
//
//go:noescape
func q4_0RVecAVX2(w *byte, rowSize int, act *byte, nb int, dst *float32)

// q4_0RActsAVX2 computes vecDotQ4_0Q8_0Repacked of nrows weight rows of nb
// blocks (row i at w + i*rowSize) with the nact <= 8 activation rows of one
// group laid out by q4_0ActGroups (at act), into dst[r*dstStride + i].
//
//go:noescape
func q4_0RActsAVX2(w *byte, rowSize, nrows int, act *byte, nb int, dst *float32, dstStride, nact int)

// q4_0ActGroupBlock is the size of one block of a group of eight
// activation rows laid out for q4_0RActsAVX2: for each group of four
// elements k < 8, the eight rows' four quants side by side (32 bytes),
// then the eight rows' -8·Σqs (int32) and their scales (float32).
const q4_0ActGroupBlock = 8*32 + 32 + 32

// q4_0ActGroups lays the prepared activation rows of m (prepQ4_0Repacked)
// out in groups of eight, a row per lane (rows past the last are zero), for
// q4_0RActsAVX2. One activation row alone goes to q4_0RVecAVX2 instead.
func q4_0ActGroups(m *tileArgs) []byte {
	if m.acts < 2 {
		return nil
	}
	nb := m.cols / 32
	groups := (m.acts + 7) / 8
	out := make([]byte, groups*nb*q4_0ActGroupBlock)
	for r := range m.acts {
		g, lane := r/8, r%8
		prep := m.act[r*m.actStride+m.actSize:]
		for b := range nb {
			src := prep[40*b : 40*b+40]
			dst := out[(g*nb+b)*q4_0ActGroupBlock:]
			for k := range 8 {
				copy(dst[32*k+4*lane:32*k+4*lane+4], src[4*k:4*k+4])
			}
			copy(dst[256+4*lane:256+4*lane+4], src[32:36])
			copy(dst[288+4*lane:288+4*lane+4], src[36:40])
		}
	}
	return out
}

func mulQ4_0RepackedAVX2(m *tileArgs) {
	nb := m.cols / 32
	if m.rowSize != nb*18 || m.actStride < m.actSize+nb*40 || nb == 0 {
		panic("ops: Q4_0 tile: bad sizes")
	}
	full := m.rows &^ 7
	if m.acts == 1 {
		if full > 0 {
			_ = m.w[full*m.rowSize-1]
			_ = m.act[m.actSize+nb*40-1]
			_ = m.dst[full-1]
		}
		for i0 := 0; i0 < full; i0 += 8 {
			q4_0RVecAVX2(&m.w[i0*m.rowSize], m.rowSize, &m.act[m.actSize], nb, &m.dst[i0])
		}
		if full < m.rows {
			rest := m.sub(full, m.rows, 0, 1)
			mulByDot(&rest)
		}
		return
	}
	groups := (m.acts + 7) / 8
	_ = m.shared[groups*nb*q4_0ActGroupBlock-1]
	_ = m.w[m.rows*m.rowSize-1]
	_ = m.dst[(m.acts-1)*m.dstStride+m.rows-1]
	// A few rows (in L1) against every group of activation rows (in L2).
	const rowBlock = 16
	for i0 := 0; i0 < m.rows; i0 += rowBlock {
		n := min(rowBlock, m.rows-i0)
		for g := range groups {
			q4_0RActsAVX2(&m.w[i0*m.rowSize], m.rowSize, n, &m.shared[g*nb*q4_0ActGroupBlock], nb,
				&m.dst[8*g*m.dstStride+i0], m.dstStride, min(8, m.acts-8*g))
		}
	}
}

// q8_0TileAVX2 computes vecDotQ8_0Q8_0 of 2 weight rows of nb blocks (at w
// and w + rowSize) with nact <= 3 activation rows (row r at act +
// r*actStride) whose quants are within ±127, into dst[r*dstStride + i].
//
//go:noescape
func q8_0TileAVX2(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)

func mulQ8_0AVX2(m *tileArgs) {
	nb := m.cols / 32
	if m.rowSize != nb*34 || m.actSize != nb*34 || nb == 0 {
		panic("ops: Q8_0 tile: bad sizes")
	}
	full := m.rows &^ 1
	if full > 0 {
		_ = m.w[full*m.rowSize-1]
		_ = m.act[(m.acts-1)*m.actStride+m.actSize-1]
		_ = m.dst[(m.acts-1)*m.dstStride+full-1]
	}
	// A pair of rows (in L1) against every activation row, three at a time.
	for i0 := 0; i0 < full; i0 += 2 {
		for r0 := 0; r0 < m.acts; r0 += 3 {
			q8_0TileAVX2(&m.w[i0*m.rowSize], m.rowSize, &m.act[r0*m.actStride], m.actStride,
				min(3, m.acts-r0), nb, &m.dst[r0*m.dstStride+i0], m.dstStride)
		}
	}
	if full < m.rows {
		rest := m.sub(full, m.rows, 0, m.acts)
		mulByDot(&rest)
	}
}
