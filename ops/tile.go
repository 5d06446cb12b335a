package ops

import (
	"encoding/binary"
	"math"
)

// tileKernel computes many outputs of one route at once: a range of weight
// rows against a range of activation rows, so that each weight block is
// read once per tile of activations rather than once per activation, and
// several outputs are summed side by side in one register. Every output
// gets exactly the bits of the route's dot function: a tile kernel runs the
// same sums, in the same order, for several outputs at a time; it never
// reorders one.
type tileKernel struct {
	// rowGroup is the number of weight rows the kernel prefers to take
	// together: MatMul hands each thread a multiple of it (but the last), so
	// that no thread is left with a short group at its edge.
	rowGroup int
	// acts127 says the kernel gives the dot function's bits only for
	// activation quants within ±127, as every activation quantizer writes
	// them (-128 never comes out of quantizeActQ8_0, Q8_1 or Q8_K): AVX2's
	// sign trick would overflow on it.
	acts127 bool
	// actExtra, when set, is the number of bytes the kernel wants after each
	// converted activation row of cols elements, which prep fills from the
	// converted row (actSize bytes) before any product (block sums, say).
	actExtra func(cols int) int
	prep     func(row []byte, actSize, cols int)
	// shared, when set, is called once per product, after the activation
	// rows are converted and prepared, and returns data every call of mul
	// reads (m.shared): the activation rows laid out across a register's
	// lanes, say. It may return nil.
	shared func(m *tileArgs) []byte
	// mul computes every output of m.
	mul func(m *tileArgs)
}

// tileArgs is one tile of outputs: for i < rows and r < acts,
//
//	dst[r*dstStride+i] = dot(cols, w[i*rowSize:(i+1)*rowSize], act[r*actStride:])
//
// where each activation row holds actSize converted bytes followed by the
// kernel's actExtra bytes.
type tileArgs struct {
	cols               int
	w                  []byte
	rowSize, rows      int
	act                []byte
	actStride, actSize int
	acts               int
	dst                []float32
	dstStride          int
	dot                func(n int, x, y []byte) float32 // the route's dot, for what the kernel leaves
	shared             []byte                           // what the kernel's shared made, for all tiles
}

// row returns weight row i of the tile.
func (m *tileArgs) row(i int) []byte { return m.w[i*m.rowSize : (i+1)*m.rowSize] }

// actRow returns activation row r of the tile, without its extra bytes.
func (m *tileArgs) actRow(r int) []byte { return m.act[r*m.actStride : r*m.actStride+m.actSize] }

// sub returns the tile of rows [i0, i1) and activations [r0, r1) of m.
func (m *tileArgs) sub(i0, i1, r0, r1 int) tileArgs {
	s := *m
	s.w = m.w[i0*m.rowSize : i1*m.rowSize]
	s.rows = i1 - i0
	s.act = m.act[r0*m.actStride:]
	s.acts = r1 - r0
	s.dst = m.dst[r0*m.dstStride+i0:]
	return s
}

// mulByDot computes every output of m with its dot function, a few weight
// rows (in L1) against a block of activation rows (in L2) at a time.
func mulByDot(m *tileArgs) {
	const rowBlock, actBlock = 16, 32
	for r0 := 0; r0 < m.acts; r0 += actBlock {
		r1 := min(r0+actBlock, m.acts)
		for i0 := 0; i0 < m.rows; i0 += rowBlock {
			i1 := min(i0+rowBlock, m.rows)
			for r := r0; r < r1; r++ {
				y := m.actRow(r)
				out := m.dst[r*m.dstStride:]
				for i := i0; i < i1; i++ {
					out[i] = m.dot(m.cols, m.row(i), y)
				}
			}
		}
	}
}

// q4_0RepackedExtra is the prepared copy of an activation row: per block
// its 32 quants, -8 times their sum (int32), and its scale as a float32.
func q4_0RepackedExtra(cols int) int { return cols / 32 * 40 }

// prepQ4_0Repacked writes the prepared copy of the Q8_0 row in row[:actSize]
// after it.
func prepQ4_0Repacked(row []byte, actSize, cols int) {
	nb := cols / 32
	src, dst := row[:nb*34], row[actSize:actSize+nb*40]
	for b := range nb {
		y, p := (*[34]byte)(src[34*b:]), (*[40]byte)(dst[40*b:])
		copy(p[:32], y[2:])
		var s int32
		for _, q := range y[2:] {
			s += int32(int8(q))
		}
		binary.LittleEndian.PutUint32(p[32:], uint32(-8*s))
		binary.LittleEndian.PutUint32(p[36:], math.Float32bits(f16(y[0], y[1])))
	}
}
