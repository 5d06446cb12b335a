package chat

import (
	"errors"
	"strings"
	"testing"
)

// TestJinja2Semantics renders small templates whose expected outputs and
// errors were computed by jinja2 3.1.6 with transformers' settings
// (../shared/chat/README.md), messages [user "Hi", assistant "Yo"],
// tools none, bos "<s>", eos "</s>". They cover what the engine does
// differently on its own: whitespace control next to {{ }} and comments,
// raw blocks, newlines, undefined values, iteration over none, Markup, and
// generators passed to tojson. An error case must fail with jinja2's
// message (after our "chat template: " and the Python exception's name).
func TestJinja2Semantics(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Yo"}}
	for _, tc := range []struct{ src, want, err string }{
		{"a\n  {% if true %}\n  b\n  {% endif %}\n", "a\n  b\n", ""},
		{"|>\n {{ messages[0].content }}{% if true %}x{% endif %}", "|>\n Hix", ""},
		{"Hello {{ bos_token }}{%- if true %} x{% endif %}", "Hello <s> x", ""},
		{"{% if true %}{{ 'a' }}\nb{% endif %}", "a\nb", ""},
		{"  {# c #}\nx\n", "x", ""},
		{"a {# c #} b", "a  b", ""},
		{"a\n  {#- c -#}  \n  b", "ab", ""},
		{"x\r\ny\rz\r\n", "x\ny\nz", ""},
		{"x\n\n", "x\n", ""},
		{"{% raw %}{{ not }}{% endraw %}\n", "{{ not }}", ""},
		{"  {% raw -%}  {{ a }} {%- endraw %}\nz", "{{ a }}z", ""},
		{"a\n　{% if true %}b{% endif %}", "a\nb", ""},
		{"a\n  {%+ if true %}b{% endif %}", "a\n  b", ""},
		{"{% if true +%}\nb{% endif %}", "\nb", ""},
		{"{{ 'a' -}}   \n  b", "ab", ""},
		{"{{- bos_token }}  {{- 'x' }}", "<s>x", ""},
		{"{{ '{' }}{{ '%' }}", "{%", ""},
		{"{%- for m in messages -%}\n  [{{ m.role }}]\n{%- endfor -%}\n", "[user][assistant]", ""},
		{"{% for m in messages %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}", "1,2", ""},
		{"{% set x = 'a' %}{% for m in messages %}{% set x = 'b' %}{% endfor %}{{ x }}", "a", ""},
		{"{% set ns = namespace(c=0) %}{% for m in messages %}{% set ns.c = ns.c + 1 %}{% endfor %}{{ ns.c }}", "2", ""},
		{"{{ messages[0]['content'] | trim }}|{{ ' x '|trim }}|{{ 'ab'|upper }}", "Hi|x|AB", ""},
		{"{{ undefined_var }}|{{ undefined_var is defined }}|{{ messages[5] }}", "|False|", ""},
		{"{{ functions + 'x' }}", "", "UndefinedError: 'functions' is undefined"},
		{"{{ messages[0].nope + 'x' }}", "", "UndefinedError: 'dict object' has no attribute 'nope'"},
		{"{{ messages[7] + 'x' }}", "", "UndefinedError: list object has no element 7"},
		{"{{ messages[7].content }}", "", "UndefinedError: list object has no element 7"},
		{"{{ nothing.attr }}", "", "UndefinedError: 'nothing' is undefined"},
		{"{% for t in tools %}{% endfor %}", "", "TypeError: 'NoneType' object is not iterable"},
		{"{% for t in 3 %}{% endfor %}", "", "TypeError: 'int' object is not iterable"},
		{"{% for t in undefined_var %}x{% else %}empty{% endfor %}", "empty", ""},
		{"{{ 'a'|safe + '<b>' }}", "a&lt;b&gt;", ""},
		{"{{ '<'|e ~ '<' }}", "&lt;<", ""},
		{"{{ messages|map(attribute='role')|list|tojson }}", "[\"user\", \"assistant\"]", ""},
		{"{{ messages|map(attribute='role')|tojson }}", "", "TypeError: Object of type generator is not JSON serializable"},
		{"{{ messages|map(attribute='role')|join(',') }}", "user,assistant", ""},
		{"{{ raise_exception('Bad ' ~ 'thing') }}", "", "TemplateError: Bad thing"},
		{"{{ 'x' if false }}|{{ (1, 2) }}|{{ [1, 'a', none, true] }}|{{ {'a': 1} }}", "|(1, 2)|[1, 'a', None, True]|{'a': 1}", ""},
		{"{{ 7 // 2 }}|{{ 7 / 2 }}|{{ 7 % 3 }}|{{ 2 ** 3 }}|{{ -3|abs }}|{{ 'x' * 3 }}", "3|3.5|1|8|3|xxx", ""},
		{"{{ 'Hello %s, %d' % ('w', 3) }}", "Hello w, 3", ""},
		{"{{ messages[-1].content }}|{{ messages[1:]|length }}|{{ 'abc'[::-1] }}", "Yo|1|cba", ""},
		{"{{ 'a,b'.split(',') }}|{{ 'Ab'.lower() }}|{{ 'ab'.startswith('a') }}|{{ ' x '.strip() }}", "['a', 'b']|ab|True|x", ""},
		{"{{ messages[0].get('content') }}|{{ messages[0].get('nope', 'dflt') }}|{{ messages[0].get('nope') }}", "Hi|dflt|None", ""},
		{"{% macro f(x, y='d') %}<{{ x }}{{ y }}>{% endmacro %}{{ f(1) }}{{ f(2, y=3) }}", "<1d><23>", ""},
		{"{{ messages|selectattr('role', 'equalto', 'user')|list|length }}", "1", ""},
		{"{{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='content')|first }}", "Yo", ""},
		{"{{ 1 < undefined_var }}", "", "UndefinedError: 'undefined_var' is undefined"},
		{"{{ undefined_var|tojson }}", "", "TypeError: Object of type Undefined is not JSON serializable"},
		{"{{ (messages|first).content }}", "Hi", ""},
		{"{% if messages[0]['role'] == 'user' and not add_generation_prompt %}u{% elif x %}x{% else %}e{% endif %}", "u", ""},
		{"{{ true }}|{{ none }}|{{ 1.0 }}|{{ 1e3 }}|{{ 0.1 + 0.2 }}", "True|None|1.0|1000.0|0.30000000000000004", ""},
		{"{{ '\\n\\t\\u00e9\\x41' }}", "\n\téA", ""},
		{"{{ \"it's\" }}|{{ 'say \"hi\"' }}|{{ 'a' 'b' }}", "it's|say \"hi\"|ab", ""},
		{"{{ messages|length > 1 }}|{{ 'a' in 'abc' }}|{{ 'z' not in ['a'] }}", "True|True|True", ""},
		{"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;", ""},
		{"{{ messages[0]|tojson }}", "{\"role\": \"user\", \"content\": \"Hi\"}", ""},
		{"{{ messages|tojson(indent=1) }}", "[\n {\n  \"role\": \"user\",\n  \"content\": \"Hi\"\n },\n {\n  \"role\": \"assistant\",\n  \"content\": \"Yo\"\n }\n]", ""},
		{"{% for m in messages if m.role == 'user' %}{{ m.content }}{% endfor %}", "Hi", ""},
		{"{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.content }}{% break %}{% endfor %}", "Yo", ""},
		{"{{ 'abc'|replace('b', 'x') }}|{{ 'a b c'|wordcount }}|{{ 'ab'|capitalize }}|{{ 'ab cd'|title }}", "axc|3|Ab|Ab Cd", ""},
		{"{{ [3,1,2]|sort }}|{{ [3,1,2]|max }}|{{ [1,1,2]|unique|list }}|{{ [1,2]|sum }}", "[1, 2, 3]|3|[1, 2]|3", ""},
		{"{{ 'line1\nline2'|indent(2) }}", "line1\n  line2", ""},
		{"{{ x.y.z }}", "", "UndefinedError: 'x' is undefined"},
		{"{{ -undefined_var }}", "", "UndefinedError: 'undefined_var' is undefined"},
	} {
		tpl, err := Parse(tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := tpl.Render(Inputs{Messages: msgs, BOSToken: "<s>", EOSToken: "</s>"})
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%q: got %q, %v; want %q", tc.src, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: rendered %q; want error %s", tc.src, got, tc.err)
			continue
		}
		if msg, ok := strings.CutPrefix(tc.err, "TemplateError: "); ok {
			var te *TemplateError
			if !errors.As(err, &te) || te.Error() != msg {
				t.Errorf("%q: error %v; want raise_exception(%q)", tc.src, err, msg)
			}
			continue
		}
		if got := strings.TrimPrefix(err.Error(), "chat template: "); got != tc.err {
			t.Errorf("%q: error %q; want %q", tc.src, got, tc.err)
		}
	}
}
