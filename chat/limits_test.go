package chat

import (
	"strings"
	"testing"
)

// TestLimits: a template from a model file cannot make the renderer
// allocate a huge range, recurse without end or loop for ever.
func TestLimits(t *testing.T) {
	defer func(n int) { maxSteps = n }(maxSteps)
	maxSteps = 5000
	for _, tc := range []struct{ src, err string }{
		{"{{ range(100001)|length }}", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."},
		{"{{ range(-9223372036854775807, 9223372036854775807)|length }}", "Range too big"},
		{"{{ range(1, 2, 0) }}", "must not be zero"},
		{"{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macros nested deeper than 200"},
		{"{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "more than 5000 loop iterations"},
	} {
		tpl, err := Parse(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		out, err := tpl.Render(Inputs{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: got %q, %v; want an error with %q", tc.src, out, err, tc.err)
		}
	}
	for src, want := range map[string]string{
		"{{ range(5, 0, -2)|list }}": "[5, 3, 1]",
		"{{ range(3)|list }}":        "[0, 1, 2]",
		"{{ range(100000)|length }}": "100000",
		"{% for i in range(70) %}{% for j in range(70) %}{% endfor %}{% endfor %}":                           "",
		"{% macro f(n) %}{% if n < 150 %}{{ f(n + 1) }}{% else %}{{ n }}{% endif %}{% endmacro %}{{ f(0) }}": "150",
	} {
		tpl, err := Parse(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if out, err := tpl.Render(Inputs{}); err != nil || out != want {
			t.Errorf("%q: got %q, %v; want %q", src, out, err, want)
		}
	}
}
