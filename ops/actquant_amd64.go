//go:build amd64 && !purego

package ops

// The AVX2 activation quantizers (actquant_amd64.s); installAVX2 puts them
// in the table's FromFloat, and the AVX-512 Q4_0 tile kernel's prep uses
// prepQ4_0RAVX2. Each wrapper checks the slices' lengths first, so a short
// slice panics exactly as in the portable code.

//go:noescape
func quantizeQ8_0AVX2(dst *byte, src *float32, nb int)

//go:noescape
func quantizeQ8KAVX2(dst *byte, src *float32, nb int)

//go:noescape
func prepQ4_0RAVX2(dst, src *byte, nb int)

// quantizeActQ8_0AVX2 is quantizeActQ8_0.
func quantizeActQ8_0AVX2(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*34]
	if nb > 0 {
		quantizeQ8_0AVX2(&dst[0], &src[0], nb)
	}
}

// quantizeQ8KAVX2Row is quant.QuantizeQ8K.
func quantizeQ8KAVX2Row(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*q8KSize]
	if nb > 0 {
		quantizeQ8KAVX2(&dst[0], &src[0], nb)
	}
}

// prepQ4_0RepackedAVX2 is prepQ4_0Repacked.
func prepQ4_0RepackedAVX2(row []byte, actSize, cols int) {
	nb := cols / 32
	src, dst := row[:nb*34], row[actSize:actSize+nb*40]
	if nb > 0 {
		prepQ4_0RAVX2(&dst[0], &src[0], nb)
	}
}
