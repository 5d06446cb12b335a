package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// f16Fields lists, per weight type, the offsets of the f16 scales in one
// block: random bytes elsewhere are valid quants, but a random scale could
// be Inf or NaN, so the tests draw scales apart.
var f16Fields = map[quant.Type][]int{
	quant.Q4_0: {0}, quant.Q4_1: {0, 2}, quant.Q5_0: {0}, quant.Q5_1: {0, 2}, quant.Q8_0: {0},
	quant.IQ4_NL: {0}, quant.Q2_K: {80, 82}, quant.Q3_K: {108}, quant.Q4_K: {0, 2}, quant.Q5_K: {0, 2},
	quant.Q6_K: {208},
}

// randomRows returns rows rows of cols elements of typ: either quantized
// random data (what files hold) or, with raw, random bytes with finite f16
// scales of any exponent, so every integer path and every float rounding
// of the kernels is exercised.
func randomRows(t testing.TB, rng *rand.Rand, typ quant.Type, rows, cols int, raw bool) []byte {
	if !raw || f16Fields[typ] == nil {
		return quantizeRows(t, typ, testData(rng, rows*cols), cols)
	}
	blockBytes, _ := typ.RowSize(typ.BlockSize())
	b := make([]byte, rows*cols/typ.BlockSize()*blockBytes)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for o := 0; o < len(b); o += blockBytes {
		for _, at := range f16Fields[typ] {
			binary.LittleEndian.PutUint16(b[o+at:], randomF16(rng))
		}
	}
	return b
}

// randomActs returns n converted activation rows for weights of typ, each
// actSize bytes: real conversions of random floats or, with raw, random
// bytes with finite scales (Q8_0/Q8_1: any int8 including -128; Q8_K: any
// int8 with the block sums of them).
func randomActs(t testing.TB, rng *rand.Rand, typ quant.Type, n, cols int, raw bool) []byte {
	act := activationRows(t, typ, testData(rng, n*cols), cols)
	if !raw {
		return act
	}
	switch VecDotType(typ) {
	case quant.Q8_0, quant.Q8_1:
		size := 34
		if VecDotType(typ) == quant.Q8_1 {
			size = 36
		}
		for o := 0; o < len(act); o += size {
			for i := 2; i < size; i++ {
				act[o+i] = byte(rng.Uint32())
			}
			binary.LittleEndian.PutUint16(act[o:], randomF16(rng))
			if size == 36 {
				binary.LittleEndian.PutUint16(act[o+2:], randomF16(rng))
			}
		}
	case quant.Q8_K:
		q8KGen{func(r *rand.Rand) float32 {
			return float32(math.Ldexp(r.Float64()+0.5, r.IntN(60)-40)) * float32(1-2*r.IntN(2))
		}, func(r *rand.Rand) byte { return byte(r.Uint32()) }, false}.fill(rng, act)
	}
	return act
}

// q8KGen fills Q8_K blocks: the scale, each activation, and whether bsums
// are the sums of the activations (as QuantizeQ8K writes them) or any int16.
type q8KGen struct {
	scale    func(*rand.Rand) float32
	act      func(*rand.Rand) byte
	anyBsums bool
}

func (g q8KGen) fill(rng *rand.Rand, y []byte) {
	for b := 0; b < len(y); b += q8KSize {
		binary.LittleEndian.PutUint32(y[b:], math.Float32bits(g.scale(rng)))
		for i := range 256 {
			y[b+q8KQs+i] = g.act(rng)
		}
		for j := range 16 {
			s := int16(0)
			for i := range 16 {
				s += int16(int8(y[b+q8KQs+16*j+i]))
			}
			if g.anyBsums {
				s = int16(rng.Uint32())
			}
			binary.LittleEndian.PutUint16(y[b+q8KBsums+2*j:], uint16(s))
		}
	}
}

// clampActs127 replaces the -128 quants of converted activation rows for
// weights of typ by -127: the range the quantizers write, which kernels
// marked acts127 rely on.
func clampActs127(typ quant.Type, act []byte) {
	size, qs := 34, 2
	switch VecDotType(typ) {
	case quant.Q8_1:
		size, qs = 36, 4
	case quant.Q8_K:
		size, qs = q8KSize, q8KQs
	}
	for o := 0; o < len(act); o += size {
		for i := o + qs; i < o+qs+min(size-qs, 256); i++ {
			if act[i] == 0x80 {
				act[i] = 0x81
			}
		}
		if size == q8KSize { // keep the block sums the sums of the quants
			for j := range 16 {
				var s int16
				for _, q := range act[o+q8KQs+16*j : o+q8KQs+16*j+16] {
					s += int16(int8(q))
				}
				binary.LittleEndian.PutUint16(act[o+q8KBsums+2*j:], uint16(s))
			}
		}
	}
}

// tileRoutes returns, for each level of assembly this CPU runs, every route
// that has a tile kernel, with the route's portable dot function.
func tileRoutes(t *testing.T) (cases []struct {
	name string
	typ  quant.Type
	r    route // the assembly level's route: its tile and its dot
	ref  func(int, []byte, []byte) float32
	// rows and n pick the route in kernel
	rows8, batch bool
}) {
	names, tables := simdTables()
	for li, tab := range tables {
		for typ := range tab {
			tr, pr := &tab[typ], &portableVecDot[typ]
			for _, c := range []struct {
				suffix       string
				tile         *tileKernel
				dot, ref     func(int, []byte, []byte) float32
				rows8, batch bool
			}{
				{"", tr.Tile, tr.VecDot, pr.VecDot, false, false},
				{"/batch", tr.BatchTile, tr.VecDotBatch, pr.VecDotBatch, false, true},
				{"/repacked", tr.RepackedTile, tr.VecDotRepacked, pr.VecDotRepacked, true, false},
			} {
				if c.tile == nil {
					continue
				}
				cases = append(cases, struct {
					name         string
					typ          quant.Type
					r            route
					ref          func(int, []byte, []byte) float32
					rows8, batch bool
				}{quant.Type(typ).String() + c.suffix + "/" + names[li], quant.Type(typ), route{c.dot, c.tile}, c.ref, c.rows8, c.batch})
			}
		}
	}
	if len(cases) == 0 {
		t.Skip("no tile kernels on this CPU or build")
	}
	return cases
}

// runTile computes every output of rows weight rows against n activation
// rows with tile kernel k, as MatMul does (its prep on each activation row,
// whole row groups).
func runTile(k *tileKernel, dot func(int, []byte, []byte) float32, cols int, w []byte, rowSize, rows int, act []byte, actSize, n int) []float32 {
	stride := actSize
	if k.actExtra != nil {
		stride += k.actExtra(cols)
	}
	a := make([]byte, n*stride)
	for r := range n {
		row := a[r*stride : (r+1)*stride]
		copy(row, act[r*actSize:(r+1)*actSize])
		if k.prep != nil {
			k.prep(row, actSize, cols)
		}
	}
	dst := make([]float32, n*rows)
	m := tileArgs{cols: cols, w: w, rowSize: rowSize, rows: rows, act: a, actStride: stride, actSize: actSize,
		acts: n, dst: dst, dstStride: rows, dot: dot}
	if k.shared != nil {
		m.shared = k.shared(&m)
	}
	k.mul(&m)
	return dst
}

// TestTileKernelsMatchPortable holds every tile kernel, on every level this
// CPU runs, to the portable dot function's bits for each output: row counts
// around the kernels' groups (1 to 40), activation counts around theirs (1
// to 19), row lengths of one block to many, with quantized and raw data.
func TestTileKernelsMatchPortable(t *testing.T) {
	rowCounts := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40}
	actCounts := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 19}
	for ci, c := range tileRoutes(t) {
		bs := c.typ.BlockSize()
		for _, nb := range []int{1, 2, 3, 8, 13} {
			cols := nb * bs
			if c.batch && cols%16 != 0 {
				continue
			}
			rowSize, _ := c.typ.RowSize(cols)
			actSize, _ := VecDotType(c.typ).RowSize(cols)
			for _, raw := range []bool{false, true} {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(nb)))
				w := randomRows(t, rng, c.typ, 40, cols, raw)
				act := randomActs(t, rng, c.typ, 19, cols, raw)
				if c.r.tile.acts127 {
					clampActs127(c.typ, act)
				}
				for _, rows := range rowCounts {
					for _, n := range actCounts {
						got := runTile(c.r.tile, c.r.dot, cols, w[:rows*rowSize], rowSize, rows, act[:n*actSize], actSize, n)
						for r := range n {
							for i := range rows {
								want := c.ref(cols, w[i*rowSize:(i+1)*rowSize], act[r*actSize:(r+1)*actSize])
								if g := got[r*rows+i]; math.Float32bits(g) != math.Float32bits(want) {
									t.Fatalf("%s, %d blocks, raw %v, %d rows x %d acts: output (%d, %d) = %g (%#08x), portable %g (%#08x)",
										c.name, nb, raw, rows, n, i, r, g, math.Float32bits(g), want, math.Float32bits(want))
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulTilesMatchPortable runs MatMul with and without assembly on
// shapes that take every tile route, on 1 to 3 threads: the row groups
// handed to threads must not change a bit.
func TestMatMulTilesMatchPortable(t *testing.T) {
	if len(tileRoutes(t)) == 0 {
		return
	}
	was := SIMD()
	t.Cleanup(func() { SetSIMD(was) })
	pools := []*Pool{nil, NewPool(2), NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, tc := range matmulCases {
		for _, sh := range []struct{ rows, cols, n int }{{48, 512, 1}, {40, 256, 11}, {52, 768, 3}, {13, 512, 5}} {
			if sh.cols%tc.typ.BlockSize() != 0 {
				continue
			}
			rng := rand.New(rand.NewPCG(13, uint64(tc.typ)))
			w := Matrix{Type: tc.typ, Rows: sh.rows, Cols: sh.cols, Data: quantizeRows(t, tc.typ, testData(rng, sh.rows*sh.cols), sh.cols)}
			x := testData(rng, sh.n*sh.cols)
			SetSIMD(false)
			want := make([]float32, sh.n*sh.rows)
			MatMul(nil, want, w, x, sh.n)
			SetSIMD(true)
			for _, p := range pools {
				got := make([]float32, sh.n*sh.rows)
				MatMul(p, got, w, x, sh.n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d, %d rows, %d threads: output %d = %g, portable %g",
							tc.typ, sh.rows, sh.cols, sh.n, p.Threads(), i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkMatMulShapes times the products of one TinyLlama-1.1B layer
// (n_embd 2048, n_ff 5632, 4 kv heads of 64) at one activation row and at
// a prompt batch of 64, one and two threads. Bytes are the weight bytes.
func BenchmarkMatMulShapes(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{{"qo", 2048, 2048}, {"kv", 256, 2048}, {"gate", 5632, 2048}, {"down", 2048, 5632}}
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		for _, sh := range shapes {
			w := benchMatrix(b, typ, sh.rows, sh.cols)
			for _, n := range []int{1, 64} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%s/n=%d/t=%d", typ, sh.name, n, threads), func(b *testing.B) {
						p := NewPool(threads)
						defer p.Close()
						rng := rand.New(rand.NewPCG(2, 2))
						x := testData(rng, n*sh.cols)
						dst := make([]float32, n*sh.rows)
						b.SetBytes(int64(len(w.Data)))
						for b.Loop() {
							MatMul(p, dst, w, x, n)
						}
					})
				}
			}
		}
	}
}
