package infer

import (
	"slices"
	"testing"
)

func TestShiftContext(t *testing.T) {
	tests := []struct {
		name      string
		history   []int32
		keepFirst bool
		n         int
		want      []int32
	}{
		// A context of 8 full, plus the token being added: BOS stays, the
		// newest (8-1)/2 = 3 follow.
		{"keeps BOS", []int32{1, 10, 11, 12, 13, 14, 15, 16, 17}, true, 8, []int32{1, 15, 16, 17}},
		{"no BOS", []int32{10, 11, 12, 13, 14, 15, 16, 17, 18}, false, 8, []int32{15, 16, 17, 18}},
		{"tiny context", []int32{1, 5, 6}, true, 2, []int32{1, 6}},
	}
	for _, tt := range tests {
		got := shiftContext(slices.Clone(tt.history), tt.keepFirst, tt.n)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: shiftContext(%v) = %v, want %v", tt.name, tt.history, got, tt.want)
		}
	}
}
