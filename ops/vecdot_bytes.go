package ops

import "encoding/binary"

// Helpers shared by the quantized kernels. The kernels unpack 8 weights at a
// time into the bytes of a uint64 with word-wide shifts and masks, then
// multiply those bytes with 8 int8 activations; this halves the work per
// element compared with unpacking each weight on its own.

const (
	bytes01 = 0x0101010101010101
	bytes03 = 0x0303030303030303
	bytes0f = 0x0f0f0f0f0f0f0f0f
	bytes80 = 0x8080808080808080
)

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// dot8u returns Σ b_k·y[k] where b_k, the bytes of v (k = 0 the lowest), are
// read as unsigned and y holds int8 activations.
func dot8u(v uint64, y *[8]byte) int32 {
	return int32(uint8(v))*int32(int8(y[0])) + int32(uint8(v>>8))*int32(int8(y[1])) +
		int32(uint8(v>>16))*int32(int8(y[2])) + int32(uint8(v>>24))*int32(int8(y[3])) +
		int32(uint8(v>>32))*int32(int8(y[4])) + int32(uint8(v>>40))*int32(int8(y[5])) +
		int32(uint8(v>>48))*int32(int8(y[6])) + int32(uint8(v>>56))*int32(int8(y[7]))
}

// dot8s is dot8u with the bytes of v read as signed.
func dot8s(v uint64, y *[8]byte) int32 {
	return int32(int8(v))*int32(int8(y[0])) + int32(int8(v>>8))*int32(int8(y[1])) +
		int32(int8(v>>16))*int32(int8(y[2])) + int32(int8(v>>24))*int32(int8(y[3])) +
		int32(int8(v>>32))*int32(int8(y[4])) + int32(int8(v>>40))*int32(int8(y[5])) +
		int32(int8(v>>48))*int32(int8(y[6])) + int32(int8(v>>56))*int32(int8(y[7]))
}

// subBytes subtracts c (< 128) from each byte of v, every byte of which is
// below 128, giving the differences as signed bytes: setting each byte's top
// bit first keeps the subtraction from borrowing across bytes.
func subBytes(v uint64, c uint64) uint64 {
	return ((v | bytes80) - c*bytes01) ^ bytes80
}

// spreadBits maps 8 bits to 8 bytes: bit k of the index becomes byte k (0 or
// 1) of the value. Q5 types store each weight's fifth bit apart.
var spreadBits = func() (t [256]uint64) {
	for i := range t {
		for k := range 8 {
			t[i] |= uint64(i>>k&1) << (8 * k)
		}
	}
	return t
}()

// group8 is the run of 8 bytes of b starting at i.
func group8(b []byte, i int) *[8]byte { return (*[8]byte)(b[i : i+8]) }

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// dot4u returns Σ b_k·y[k] where b_k, the bytes of v (k = 0 the lowest), are
// read as unsigned and y holds four int8 activations: one 32-bit lane of
// _mm256_maddubs_epi16 followed by _mm256_madd_epi16.
func dot4u(v uint32, y []byte) int32 {
	y = y[:4]
	return int32(uint8(v))*int32(int8(y[0])) + int32(uint8(v>>8))*int32(int8(y[1])) +
		int32(uint8(v>>16))*int32(int8(y[2])) + int32(uint8(v>>24))*int32(int8(y[3]))
}

// dot4s is dot4u with the bytes of v read as signed.
func dot4s(v uint32, y []byte) int32 {
	y = y[:4]
	return int32(int8(v))*int32(int8(y[0])) + int32(int8(v>>8))*int32(int8(y[1])) +
		int32(int8(v>>16))*int32(int8(y[2])) + int32(int8(v>>24))*int32(int8(y[3]))
}
