package ops

// vecDotQ8_0Q8_0 is ggml_vec_dot_q8_0_q8_0_generic.
func vecDotQ8_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*34], y[:nb*34]
	var sumf float32
	for len(x) >= 34 && len(y) >= 34 {
		xb, yb := (*[34]byte)(x), (*[34]byte)(y)
		x, y = x[34:], y[34:]
		var s int32
		for j := 2; j < 34; j += 4 {
			a, b := (*[4]byte)(xb[j:j+4]), (*[4]byte)(yb[j:j+4])
			s += int32(int8(a[0]))*int32(int8(b[0])) + int32(int8(a[1]))*int32(int8(b[1])) +
				int32(int8(a[2]))*int32(int8(b[2])) + int32(int8(a[3]))*int32(int8(b[3]))
		}
		dd := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		sumf += float32(float32(s) * dd)
	}
	return sumf
}
