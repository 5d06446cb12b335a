// ggml's vectorised expf (vExpf in expf.go) for eight lanes, shared by
// the AVX2 kernels that need it (swiglu_amd64.s, softmax_amd64.s): the
// constants, then VEXPF8, which sets Y8 to vExpf of each lane of Y1, using
// Y2..Y7 and Y9..Y12; Y15 must hold shift, Y14 log2e and Y13 zero.
//
// vExpf's final scalef (j·2^n rounded once) is done as two exact-or-once
// roundings: j·2^(n>>1) is exact (j is near 1 and |n>>1| <= 96, so the
// result is a normal float), and multiplying that by 2^(n-(n>>1)) rounds
// once, to a subnormal, an infinity or exactly, as scalef does. Lanes with
// |n| > 192 take 0 (n <= 0) or +Inf.

DATA shift<>+0(SB)/4, $0x4b400000
DATA shift<>+4(SB)/4, $0x4b400000
DATA shift<>+8(SB)/4, $0x4b400000
DATA shift<>+12(SB)/4, $0x4b400000
DATA shift<>+16(SB)/4, $0x4b400000
DATA shift<>+20(SB)/4, $0x4b400000
DATA shift<>+24(SB)/4, $0x4b400000
DATA shift<>+28(SB)/4, $0x4b400000
GLOBL shift<>(SB), RODATA|NOPTR, $32

DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32

DATA ln2hi<>+0(SB)/4, $0x3f317200
DATA ln2hi<>+4(SB)/4, $0x3f317200
DATA ln2hi<>+8(SB)/4, $0x3f317200
DATA ln2hi<>+12(SB)/4, $0x3f317200
DATA ln2hi<>+16(SB)/4, $0x3f317200
DATA ln2hi<>+20(SB)/4, $0x3f317200
DATA ln2hi<>+24(SB)/4, $0x3f317200
DATA ln2hi<>+28(SB)/4, $0x3f317200
GLOBL ln2hi<>(SB), RODATA|NOPTR, $32

DATA ln2lo<>+0(SB)/4, $0x35bfbe8e
DATA ln2lo<>+4(SB)/4, $0x35bfbe8e
DATA ln2lo<>+8(SB)/4, $0x35bfbe8e
DATA ln2lo<>+12(SB)/4, $0x35bfbe8e
DATA ln2lo<>+16(SB)/4, $0x35bfbe8e
DATA ln2lo<>+20(SB)/4, $0x35bfbe8e
DATA ln2lo<>+24(SB)/4, $0x35bfbe8e
DATA ln2lo<>+28(SB)/4, $0x35bfbe8e
GLOBL ln2lo<>(SB), RODATA|NOPTR, $32

DATA c0<>+0(SB)/4, $0x3f7ffff6
DATA c0<>+4(SB)/4, $0x3f7ffff6
DATA c0<>+8(SB)/4, $0x3f7ffff6
DATA c0<>+12(SB)/4, $0x3f7ffff6
DATA c0<>+16(SB)/4, $0x3f7ffff6
DATA c0<>+20(SB)/4, $0x3f7ffff6
DATA c0<>+24(SB)/4, $0x3f7ffff6
DATA c0<>+28(SB)/4, $0x3f7ffff6
GLOBL c0<>(SB), RODATA|NOPTR, $32

DATA c1<>+0(SB)/4, $0x3efffedb
DATA c1<>+4(SB)/4, $0x3efffedb
DATA c1<>+8(SB)/4, $0x3efffedb
DATA c1<>+12(SB)/4, $0x3efffedb
DATA c1<>+16(SB)/4, $0x3efffedb
DATA c1<>+20(SB)/4, $0x3efffedb
DATA c1<>+24(SB)/4, $0x3efffedb
DATA c1<>+28(SB)/4, $0x3efffedb
GLOBL c1<>(SB), RODATA|NOPTR, $32

DATA c2<>+0(SB)/4, $0x3e2aaf33
DATA c2<>+4(SB)/4, $0x3e2aaf33
DATA c2<>+8(SB)/4, $0x3e2aaf33
DATA c2<>+12(SB)/4, $0x3e2aaf33
DATA c2<>+16(SB)/4, $0x3e2aaf33
DATA c2<>+20(SB)/4, $0x3e2aaf33
DATA c2<>+24(SB)/4, $0x3e2aaf33
DATA c2<>+28(SB)/4, $0x3e2aaf33
GLOBL c2<>(SB), RODATA|NOPTR, $32

DATA c3<>+0(SB)/4, $0x3d2b9f17
DATA c3<>+4(SB)/4, $0x3d2b9f17
DATA c3<>+8(SB)/4, $0x3d2b9f17
DATA c3<>+12(SB)/4, $0x3d2b9f17
DATA c3<>+16(SB)/4, $0x3d2b9f17
DATA c3<>+20(SB)/4, $0x3d2b9f17
DATA c3<>+24(SB)/4, $0x3d2b9f17
DATA c3<>+28(SB)/4, $0x3d2b9f17
GLOBL c3<>(SB), RODATA|NOPTR, $32

DATA c4<>+0(SB)/4, $0x3c072010
DATA c4<>+4(SB)/4, $0x3c072010
DATA c4<>+8(SB)/4, $0x3c072010
DATA c4<>+12(SB)/4, $0x3c072010
DATA c4<>+16(SB)/4, $0x3c072010
DATA c4<>+20(SB)/4, $0x3c072010
DATA c4<>+24(SB)/4, $0x3c072010
DATA c4<>+28(SB)/4, $0x3c072010
GLOBL c4<>(SB), RODATA|NOPTR, $32

DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32

DATA t192<>+0(SB)/4, $0x43400000
DATA t192<>+4(SB)/4, $0x43400000
DATA t192<>+8(SB)/4, $0x43400000
DATA t192<>+12(SB)/4, $0x43400000
DATA t192<>+16(SB)/4, $0x43400000
DATA t192<>+20(SB)/4, $0x43400000
DATA t192<>+24(SB)/4, $0x43400000
DATA t192<>+28(SB)/4, $0x43400000
GLOBL t192<>(SB), RODATA|NOPTR, $32

DATA absmask<>+0(SB)/4, $0x7fffffff
DATA absmask<>+4(SB)/4, $0x7fffffff
DATA absmask<>+8(SB)/4, $0x7fffffff
DATA absmask<>+12(SB)/4, $0x7fffffff
DATA absmask<>+16(SB)/4, $0x7fffffff
DATA absmask<>+20(SB)/4, $0x7fffffff
DATA absmask<>+24(SB)/4, $0x7fffffff
DATA absmask<>+28(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $32

DATA inf<>+0(SB)/4, $0x7f800000
DATA inf<>+4(SB)/4, $0x7f800000
DATA inf<>+8(SB)/4, $0x7f800000
DATA inf<>+12(SB)/4, $0x7f800000
DATA inf<>+16(SB)/4, $0x7f800000
DATA inf<>+20(SB)/4, $0x7f800000
DATA inf<>+24(SB)/4, $0x7f800000
DATA inf<>+28(SB)/4, $0x7f800000
GLOBL inf<>(SB), RODATA|NOPTR, $32

DATA bias<>+0(SB)/4, $0x0000007f
DATA bias<>+4(SB)/4, $0x0000007f
DATA bias<>+8(SB)/4, $0x0000007f
DATA bias<>+12(SB)/4, $0x0000007f
DATA bias<>+16(SB)/4, $0x0000007f
DATA bias<>+20(SB)/4, $0x0000007f
DATA bias<>+24(SB)/4, $0x0000007f
DATA bias<>+28(SB)/4, $0x0000007f
GLOBL bias<>(SB), RODATA|NOPTR, $32

// VEXPF8, step by step, as vExpf: z = fma(x, log2e, shift); n = z - shift;
// b = fma(-n, ln2lo, fma(-n, ln2hi, x)); u = b*b;
// j = fma(fma(fma(c4, b, c3), u, fma(c2, b, c1)), u, fma(c0, b, 1));
// e = j·2^n (two multiplications, see above); then the |n| > 192 lanes.
#define VEXPF8 \
	VMOVAPS Y15, Y2 \
	VFMADD231PS Y14, Y1, Y2 \
	VSUBPS  Y15, Y2, Y2 \
	VMOVAPS Y1, Y3 \
	VFNMADD231PS ln2hi<>(SB), Y2, Y3 \
	VFNMADD231PS ln2lo<>(SB), Y2, Y3 \
	VMULPS  Y3, Y3, Y4 \
	VMOVUPS c3<>(SB), Y5 \
	VFMADD231PS c4<>(SB), Y3, Y5 \
	VMOVUPS c1<>(SB), Y6 \
	VFMADD231PS c2<>(SB), Y3, Y6 \
	VMOVUPS one<>(SB), Y8 \
	VFMADD231PS c0<>(SB), Y3, Y8 \
	VFMADD231PS Y4, Y5, Y6 \
	VFMADD231PS Y4, Y6, Y8 \
	VCVTPS2DQ Y2, Y9 \
	VPSRAD  $1, Y9, Y10 \
	VPSUBD  Y10, Y9, Y9 \
	VPADDD  bias<>(SB), Y10, Y10 \
	VPSLLD  $23, Y10, Y10 \
	VPADDD  bias<>(SB), Y9, Y9 \
	VPSLLD  $23, Y9, Y9 \
	VMULPS  Y10, Y8, Y8 \
	VMULPS  Y9, Y8, Y8 \
	VANDPS  absmask<>(SB), Y2, Y11 \
	VCMPPS  $0x1e, t192<>(SB), Y11, Y11 \
	VCMPPS  $0x1e, Y13, Y2, Y12 \
	VANDPS  inf<>(SB), Y12, Y12 \
	VBLENDVPS Y11, Y12, Y8, Y8
