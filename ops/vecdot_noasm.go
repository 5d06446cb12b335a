//go:build (!amd64 && !arm64) || purego

package ops

// Without assembly kernels (another GOARCH, or the purego build tag) the
// portable kernels are the only ones.
var simdLevels []simdLevel
