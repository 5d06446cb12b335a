package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// FuzzParse feeds arbitrary template sources (they come from model files)
// to Parse and, when they parse, renders them: neither may panic. Sources
// with "*" are only parsed, since string repetition inside a loop can ask
// for any amount of memory (jinja2 has the same property).
func FuzzParse(f *testing.F) {
	for _, name := range BuiltinNames() {
		src, _ := Builtin(name)
		f.Add(src)
	}
	for _, s := range []string{"", "{{", "{%", "{#", "{% raw %}{{ x }}", "{{ a.b[c](d)|e(f=g) is h i }}", "{% for a, b in c if d recursive %}{{ loop(a) }}{% endfor %}",
		"x\r\n  {%- if y -%}\n {{- z -}} {%+ endif +%}\n", "{{ '\\u00e9' ~ \"\\\"\" }}", "{% macro m(a=1) %}{{ caller() }}{% endmacro %}{% call m() %}x{% endcall %}"} {
		f.Add(s)
	}
	if os.Getenv("INFER_SHARED") != "" || dirExists(filepath.Join(testref.Root(f), "..", "shared")) {
		files, _ := filepath.Glob(filepath.Join(testref.Dir(f), "chat", "templates", "*.jinja"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(string(b))
			}
		}
	}
	msgs := []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}}
	old := maxSteps
	maxSteps = 10000 // nested loops would otherwise take seconds an input
	f.Cleanup(func() { maxSteps = old })
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse(src)
		if err != nil || strings.Contains(src, "*") {
			return
		}
		if tpl.Source() != src {
			t.Fatal("Source differs from the source given")
		}
		_, _ = tpl.Render(Inputs{Messages: msgs, AddGenerationPrompt: true, BOSToken: "<s>", EOSToken: "</s>"})
	})
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
