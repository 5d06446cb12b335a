// Macros shared by the AVX-512 tile kernels (tile_*avx512_amd64.s).

// HSUM8X2 leaves in lane 0 of acc hsum8 of its low eight lanes and in lane
// 8 hsum8 of its high eight: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))
// for each half.
#define HSUM8X2(acc, t) \
	VSHUFF32X4 $0xb1, acc, acc, t \
	VADDPS     t, acc, acc        \
	VPERMILPS  $0x4e, acc, t      \
	VADDPS     t, acc, acc        \
	VMOVSHDUP  acc, t             \
	VADDPS     t, acc, acc
