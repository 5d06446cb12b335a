package chat

import (
	"errors"
	"strings"
	"testing"
)

// semanticsCase is a template with jinja2's output, or its error as
// "ExceptionName: message".
type semanticsCase struct{ src, want, err string }

// Expected outputs and errors below were computed by jinja2 3.1.6 with
// transformers' settings (../shared/chat/README.md), tools none, bos "<s>",
// eos "</s>". They cover what the engine does differently on its own:
// whitespace control next to {{ }} and comments, raw blocks, newlines,
// undefined values, iteration over none, Markup, generators passed to
// tojson, Python's + and % and comparisons, str methods, the sort filter,
// the sandbox's refusal to mutate, number literals.

// whitespaceCases render with messages [user "Hi", assistant "Yo"] and
// add_generation_prompt false.
var whitespaceCases = []semanticsCase{
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
}

// pythonCases render with probeMessages and add_generation_prompt true.
var pythonCases = []semanticsCase{
	{"{{ '%s-%s'|format('a', 1) }}|{{ '%(x)s'|format(x=2) }}|{{ messages[0]|attr('role') }}|{{ '<b>'|forceescape }}|{{ messages[0]|attr('nope') }}|{{ [1,2,3,4,5]|slice(2)|list }}",
		"a-1|2||&lt;b&gt;||[[1, 2, 3], [4, 5]]", ""},
	{"{{ messages.index(messages[1]) }}|{{ ['a', 'b'].index('b') }}|{{ messages|map(attribute='role')|list|count }}", "1|1|3", ""},
	{"{{ ['a'].index('z') }}", "", "ValueError: 'z' is not in list"},
	{"{{ messages[0].content|trim }}|{{ messages[0].content.strip() }}|{{ messages[0].content.rstrip('\\n') }}|{{ messages[0].content.lstrip() }}", "Sys|Sys|  Sys|Sys\n", ""},
	{"{{ messages[1].content.split(' ') }}|{{ messages[1].content.split() }}|{{ 'a\\nb'.splitlines() }}", "['Hi', 'there']|['Hi', 'there']|['a', 'b']", ""},
	{"{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.endswith('c') }}|{{ 'a-b'.replace('-', '+') }}|{{ 'hi {}'.format('x') }}|{{ ','.join(['a','b']) }}", "True|True|a+b|hi x|a,b", ""},
	{"{{ 'abcabc'.count('b') }}|{{ 'abc'.find('c') }}|{{ 'abc'.rfind('x') }}|{{ '12'.isdigit() }}|{{ 'Ab'.swapcase() }}", "2|2|-1|True|aB", ""},
	{"{{ messages[1].content is string }}|{{ messages is sequence }}|{{ messages[0] is mapping }}|{{ messages is iterable }}|{{ none is none }}|{{ 3 is number }}", "True|True|True|True|True|True", ""},
	{"{{ 4 is divisibleby(2) }}|{{ 3 is odd }}|{{ 2 is even }}|{{ 'a' is in ['a'] }}|{{ 1 is eq 1 }}", "True|True|True|True|True", ""},
	{"{{ messages|selectattr('role', 'equalto', 'user')|list|length }}|{{ messages|selectattr('tool_calls', 'defined')|list|length }}|{{ messages|rejectattr('tool_calls')|list|length }}", "1|1|2", ""},
	{"{{ messages|map(attribute='role')|join(', ') }}|{{ messages|map('tojson')|join }}|{{ ['a', 'b']|map('upper')|list }}", "system, user, assistant|{\"role\": \"system\", \"content\": \"  Sys\\n\"}{\"role\": \"user\", \"content\": \"Hi there\"}{\"role\": \"assistant\", \"content\": \"Yo\", \"tool_calls\": [{\"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1}}}]}|['A', 'B']", ""},
	{"{{ [1, 'a', none]|select('string')|list }}|{{ [0, 1, 2]|select|list }}|{{ [3, 1, 2]|sort(reverse=true) }}", "['a']|[1, 2]|[3, 2, 1]", ""},
	{"{{ messages|sort(attribute='role')|map(attribute='role')|list }}|{% for k, v in {'b': 1, 'a': 2}|dictsort %}{{ k }}{{ v }}{% endfor %}|{% for k, v in {'b': 1, 'a': 2}|items %}{{ k }}{{ v }}{% endfor %}", "['assistant', 'system', 'user']|a2b1|b1a2", ""},
	{"{{ none|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ undefined_x|default('u') }}", "None||d|u", ""},
	{"{{ 'line1\\nline2'|indent(4, first=True) }}|{{ 'line1\\n\\nline2'|indent(2) }}|{{ 'x'|indent }}", "    line1\n    line2|line1\n\n  line2|x", ""},
	{"{{ 3.0 }}|{{ 3.5|round }}|{{ 2.567|round(2) }}|{{ 3.7|int }}|{{ '5'|int + 1 }}|{{ 'x'|int }}|{{ 5|float }}|{{ 10 / 4 }}|{{ 10 // 4 }}|{{ -7 // 2 }}|{{ -7 % 3 }}", "3.0|4.0|2.57|3|6|0|5.0|2.5|2|-4|2", ""},
	{"{{ [1, 2] + [3] }}|{{ 'ab' * 2 }}|{{ [0] * 3 }}|{{ 2 ** 10 }}|{{ 7 / 0 if false else 1 }}", "[1, 2, 3]|abab|[0, 0, 0]|1024|1", ""},
	{"{{ 'a' + 1 }}", "", "TypeError: can only concatenate str (not \"int\") to str"},
	{"{{ 1 < 'a' }}", "", "TypeError: '<' not supported between instances of 'int' and 'str'"},
	{"{{ [1, 2][5] }}|{{ {'a': 1}['b'] }}|{{ 'abc'[10] }}", "||", ""},
	{"{{ messages[2].tool_calls[0].function.arguments|tojson }}|{{ messages[2].tool_calls[0].function.arguments.a }}", "{\"a\": 1}|1", ""},
	{"{{ messages[2]['tool_calls'][0]['function']['arguments'] }}|{{ messages[2] }}", "{'a': 1}|{'role': 'assistant', 'content': 'Yo', 'tool_calls': [{'function': {'name': 'f', 'arguments': {'a': 1}}}]}", ""},
	{"{{ (1, 2) }}|{{ [1, (2, 3)] }}|{{ {'a': (1,)} }}|{{ 'it\\'s' }}|{{ [\"it's\"] }}|{{ [1.5, true, none] }}", "(1, 2)|[1, (2, 3)]|{'a': (1,)}|it's|[\"it's\"]|[1.5, True, None]", ""},
	{"{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}", "2", ""},
	{"{% set ns = namespace(a=[]) %}{% for m in messages %}{% set ns.a = ns.a + [m.role] %}{% endfor %}{{ ns.a }}", "['system', 'user', 'assistant']", ""},
	{"{% for m in messages %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.length }}{{ loop.first }}{{ loop.last }}{% if loop.previtem is defined %}p{% endif %}{% if loop.nextitem is defined %}n{% endif %};{% endfor %}", "033TrueFalsen;123FalseFalsepn;213FalseTruep;", ""},
	{"{% for m in messages %}{{ loop.cycle('a', 'b') }}{% endfor %}", "aba", ""},
	{"{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}|{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}|{% for c in 'ab' %}{{ c }}.{% endfor %}", "37|xy|a.b.", ""},
	{"{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}", "Hello A! Hello B? Hello C!", ""},
	{"{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inner{% endcall %}", "[inner]", ""},
	{"{% filter upper %}shout {{ 'this' }}{% endfilter %}", "SHOUT THIS", ""},
	{"{% set block %}captured {{ 1 + 1 }}{% endset %}[{{ block }}]", "[captured 2]", ""},
	{"{{ messages|length }}|{{ messages|count }}|{{ messages|first|tojson }}|{{ (messages|last).role }}|{{ 'abc'|list }}|{{ 'abc'|first }}", "3|3|{\"role\": \"system\", \"content\": \"  Sys\\n\"}|assistant|['a', 'b', 'c']|a", ""},
	{"{{ [1, 2, 3]|sum }}|{{ [1, 5, 3]|max }}|{{ [4, 2]|min }}|{{ [1, 1, 2]|unique|list }}|{{ [1, 2, 3, 4, 5]|batch(2)|list }}|{{ [1,2,3]|reverse|list }}|{{ 'abc'|reverse }}", "6|5|2|[1, 2]|[[1, 2], [3, 4], [5]]|[3, 2, 1]|cba", ""},
	{"{{ 'Hello World'|lower }}|{{ 'hello world'|title }}|{{ 'hello'|capitalize }}|{{ 'a b  c'|wordcount }}|{{ 'x'|center(5) }}|{{ 'abcdef'|truncate(4) }}", "hello world|Hello World|Hello|3|  x  |abcdef", ""},
	{"{{ 'x' ~ 1 ~ none ~ true }}|{{ 'a' if none else 'b' }}|{{ not none }}|{{ none or 'x' }}|{{ 0 and 'x' }}|{{ '' or [] }}", "x1NoneTrue|b|True|x|0|[]", ""},
	{"{{ 'x' in {'x': 1} }}|{{ 1 in [1, 2] }}|{{ 'b' in 'abc' }}|{{ {'a': 1}.a }}|{{ {'a': 1}.get('a') }}|{{ {'a': 1}.keys()|list }}|{{ {'a': 1}.values()|list }}|{{ {'a': 1}.items()|list|length }}", "True|True|True|1|1|['a']|[1]|1", ""},
	{"{{ messages.append(1) }}", "", "SecurityError: access to attribute 'append' of 'list' object is unsafe."},
	{"{% set d = {} %}{{ d.update({'a': 1}) }}{{ d }}", "", "SecurityError: access to attribute 'update' of 'dict' object is unsafe."},
	{"{{ '%s and %s' % ('a', 'b') }}|{{ '%d%%' % 5 }}|{{ '%.2f' % 3.14159 }}|{{ '%5s|' % 'x' }}|{{ '%-5s|' % 'x' }}|{{ '%r' % 'x' }}", "a and b|5%|3.14|    x||x    ||'x'", ""},
	{"{{ \"{0}-{1}\".format('a', 'b') }}|{{ \"{x}\".format(x=1) }}|{{ '{:>4}'.format('a') }}", "a-b|1|   a", ""},
	{"{{ messages[1:]|map(attribute='role')|list }}|{{ messages[:-1]|length }}|{{ messages[::2]|length }}|{{ messages[-2].role }}", "['user', 'assistant']|2|2|user", ""},
	{"{{ raise_exception(\"Only user and assistant roles are supported!\") }}", "", "TemplateError: Only user and assistant roles are supported!"},
	{"{{ tools is none }}|{{ tools is defined }}|{{ documents is none }}|{{ tools|length if tools else 0 }}", "True|True|True|0", ""},
	{"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}{{ loop_messages|length }}", "2", ""},
	{"{{ '\\u2581' }}|{{ '\\x41' }}|{{ '\\t' }}|{{ '\\\\' }}", "▁|A|\t|\\", ""},
	{"{{ 1e3 }}|{{ 1_000 }}|{{ 0x10 }}|{{ 0o17 }}|{{ 0b101 }}|{{ 1.5e-3 }}|{{ 0.1 }}|{{ 1e100 }}|{{ 1/3 }}", "1000.0|1000|16|15|5|0.0015|0.1|1e+100|0.3333333333333333", ""},
	{"{{ -0.0 }}|{{ 2.0 * 3 }}|{{ 7 % 2.5 }}|{{ True }}|{{ False }}|{{ None }}", "-0.0|6.0|2.0|True|False|None", ""},
	{"{{ messages[0].content|replace('\\n', '\\\\n') }}|{{ 'aaa'|replace('a', 'b', 2) }}", "  Sys\\n|bba", ""},
	{"{{ {'a': 1, 'b': [1, 2]}|tojson(indent=2) }}|{{ 'é'|tojson }}|{{ 'é'|tojson(ensure_ascii=true) }}", "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}|\"é\"|\"\\u00e9\"", ""},
	{"{% for x in [] %}a{% else %}empty{% endfor %}|{% for m in messages if m.role != 'system' %}{{ loop.index }}{% endfor %}", "empty|12", ""},
	{"{% for m in messages %}{% if m.role == 'user' %}{% continue %}{% endif %}{{ m.role }}{% if m.role == 'assistant' %}{% break %}{% endif %}{% endfor %}", "systemassistant", ""},
	{"{{ x | default(none) is none }}|{{ (x or 'a') }}|{{ x is not defined }}", "True|a|True", ""},
	{"{%- set system_message = messages[0]['content'] if messages[0]['role'] == 'system' else '' -%}[{{ system_message }}]", "[  Sys\n]", ""},
	{"{{ messages[0]['content'][:3] }}|{{ messages[1]['content'][-5:] }}|{{ messages[1]['content'][::-1] }}", "  S|there|ereht iH", ""},
	{"{{ [1, 2] == [1, 2] }}|{{ {'a': 1} == {'a': 1} }}|{{ 1 == 1.0 }}|{{ 'a' != 'b' }}|{{ 1 < 2 < 3 }}|{{ none == none }}", "True|True|True|True|True|True", ""},
	{"{{ messages|selectattr('role', 'in', ['user', 'system'])|list|length }}|{{ messages|selectattr('role', '==', 'user')|list|length }}|{{ messages|map(attribute='missing', default='d')|list }}", "2|1|['d', 'd', 'd']", ""},
	{"{{ range(3)|list }}|{{ range(1, 6, 2)|list }}|{% for i in range(2) %}{{ i }}{% endfor %}", "[0, 1, 2]|[1, 3, 5]|01", ""},
	{"{{ dict(a=1, b=2) }}|{{ namespace(x=1).x }}|{% set j = joiner(', ') %}{% for i in [1,2] %}{{ j() }}{{ i }}{% endfor %}", "{'a': 1, 'b': 2}|1|1, 2", ""},
	{"{{ messages[0] | tojson(sort_keys=true) }}|{{ messages|map(attribute='role')|unique|list }}", "{\"content\": \"  Sys\\n\", \"role\": \"system\"}|['system', 'user', 'assistant']", ""},
	{"{{ 'a' < 'b' }}|{{ [1] < [2] }}|{{ 'B'|lower == 'b' }}", "True|True|True", ""},
	{"{{ 'ab'|string }}|{{ 1|string }}|{{ none|string }}|{{ [1]|string }}|{{ messages[2].tool_calls[0].function.arguments|string }}", "ab|1|None|[1]|{'a': 1}", ""},
	{"{{ {'a': none}|tojson }}|{{ [none, true, 1.0]|tojson }}|{{ {'a': {'b': []}}|tojson(indent=4) }}", "{\"a\": null}|[null, true, 1.0]|{\n    \"a\": {\n        \"b\": []\n    }\n}", ""},
	{"{{ messages[0]['role'] | upper }}|{{ messages[0].role|length }}", "SYSTEM|6", ""},
	{"{% if messages %}{{ 'yes' }}{% endif %}|{% if [] %}no{% else %}empty{% endif %}|{% if {} %}no{% endif %}|{% if 0.0 %}no{% endif %}", "yes|empty||", ""},
	{"{{ 'x'|e }}|{{ '<a href=\"x\">'|e }}|{{ \"it's\"|escape }}|{{ ('<'|safe) ~ '>' }}", "x|&lt;a href=&#34;x&#34;&gt;|it&#39;s|<>", ""},
	{"{{ messages[0].items()|list|length }}|{% for k, v in messages[0].items() %}{{ k }}={{ v|trim }};{% endfor %}", "2|role=system;content=Sys;", ""},
	{"{{ x.y }}", "", "UndefinedError: 'x' is undefined"},
	{"{% set x = none %}{{ x.y }}|{{ x['y'] }}", "|", ""},
	{"{% set x = none %}{{ x.y + 1 }}", "", "UndefinedError: 'None' has no attribute 'y'"},
	{"{{ messages[1].content.upper() }}|{{ messages[1].content.title() }}|{{ 'hello'.capitalize() }}|{{ 'A'.lower() }}", "HI THERE|Hi There|Hello|a", ""},
	{"{{ messages[1].nope is defined }}|{{ messages[1]['nope'] is undefined }}|{{ messages[9] is defined }}", "False|True|False", ""},
	{"{{ messages[1].nope|length }}|{{ messages[1].nope|trim }}|{{ messages[1].nope ~ 'x' }}|{{ messages[1].nope|default('d') }}", "0||x|d", ""},
	{"{{ messages[1].nope|tojson }}", "", "TypeError: Object of type Undefined is not JSON serializable"},
	{"{{ messages[1].nope.x }}", "", "UndefinedError: 'dict object' has no attribute 'nope'"},
	{"{% for tool in tools %}{% endfor %}x", "", "TypeError: 'NoneType' object is not iterable"},
	{"{{ 'a,b'.split(',', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ ' x '.strip(' ') }}|{{ 'xxaxx'.strip('x') }}", "['a', 'b']|['a b', 'c']|x|a", ""},
	{"{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set c = (1, 2) %}{{ c[0] }}", "12|1", ""},
	{"{{ 3 if true else 4 }}|{{ [1, 2] if false else [] }}|{{ (1 if true else 2) + 1 }}", "3|[]|2", ""},
	{"{{ ['b', 'a', 'C']|sort }}|{{ ['b', 'a', 'C']|sort(case_sensitive=true) }}|{{ [{'n': 2}, {'n': 1}]|sort(attribute='n')|map(attribute='n')|list }}", "['a', 'b', 'C']|['C', 'a', 'b']|[1, 2]", ""},
	{"{{ 'abc' is upper }}|{{ 'ABC' is upper }}|{{ 'abc' is lower }}|{{ none is boolean }}|{{ true is boolean }}|{{ 1 is integer }}|{{ 1.0 is float }}|{{ messages is callable }}", "False|True|True|False|True|True|True|False", ""},
	{"{{ '%s' % 5 }}|{{ '%s|%s' % (1, none) }}|{{ '%d' % 1.7 }}|{{ '%5.1f' % 2.25 }}|{{ '%x' % 255 }}|{{ '%r' % [1] }}|{{ '%s' % [1, 2] }}|{{ '%(a)s' % {'a': 1} }}|{{ '%-3d|' % 7 }}|{{ '%05.2f' % 3.14159 }}|{{ '%c' % 65 }}|{{ '%i%%' % 3 }}|{{ '%+d' % 5 }}|{{ '%e' % 12345.678 }}|{{ '%g' % 0.0001 }}", "5|1|None|1|  2.2|ff|[1]|[1, 2]|1|7  ||03.14|A|3%|+5|1.234568e+04|0.0001", ""},
	{"{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 7.5 % 2 }}|{{ -7.5 % 2 }}|{{ loop_x % 2 if false else 1 }}", "2|-2|1.5|0.5|1", ""},
	{"{{ '%s' % 'a' ~ 'b' }}|{{ '%s' % (('a', 'b'),) }}", "ab|('a', 'b')", ""},
	{"{{ 'x'|center(5) }}|{{ 'ab'|center(5) }}|{{ 'abcdef'|truncate(4) }}|{{ 'hello world foo bar'|truncate(9) }}|{{ 'hello world foo bar'|truncate(9, true) }}|{{ 'hello world foo bar'|truncate(9, end='>') }}|{{ 'hello world foo bar baz qux'|truncate(12, leeway=0) }}", "  x  |  ab |abcdef|hello...|hello ...|hello>|hello...", ""},
	{"{{ 'x'.center(4) }}|{{ 'ab'.center(5) }}|{{ 'ab'.center(6, '*') }}|{{ '{:^5}'.format('ab') }}|{{ '{:*>6.2f}'.format(3.14159) }}|{{ '{:,}'.format(1234567) }}|{{ '{:08.3f}'.format(-3.5) }}|{{ '{!r}'.format('x') }}|{{ '{0}{0}'.format('a') }}|{{ '{:x}'.format(255) }}|{{ '{:.2%}'.format(0.256) }}|{{ '{:e}'.format(1234.5) }}|{{ '{:g}'.format(1e-7) }}|{{ '{}'.format(1.0) }}|{{ '{}'.format(none) }}|{{ '{:>5}'.format(12) }}|{{ '{{}}'.format() }}", " x  |  ab |**ab**| ab  |**3.14|1,234,567|-003.500|'x'|aa|ff|25.60%|1.234500e+03|1e-07|1.0|None|   12|{}", ""},
	{"{{ 'a b\\tc'.rsplit() }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'ab\\r\\ncd\\ne'.splitlines() }}|{{ 'ab\\ncd'.splitlines(true) }}|{{ '-'.join('abc') }}|{{ 'abc'.index('c') }}|{{ 'a1'.isalnum() }}|{{ 'AB'.isupper() }}|{{ 'Ab Cd'.istitle() }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}|{{ 'a=b=c'.partition('=')|list }}|{{ 'a=b=c'.rpartition('=')|join(',') }}|{{ 'prefix_x'.removeprefix('prefix_') }}|{{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }}", "['a', 'b', 'c']|['a,b', 'c']|['ab', 'cd', 'e']|['ab\\n', 'cd']|a-b-c|2|True|True|True|00042|-0042|['a', '=', 'b=c']|a=b,=,c|x|ab..|  ab", ""},
	{"{{ ', '.join([1, 2]) }}", "", "TypeError: sequence item 0: expected str instance, int found"},
	{"{{ 'abc'.index('z') }}", "", "ValueError: substring not found"},
	{"{{ [3, 'a']|sort }}", "", "TypeError: '<' not supported between instances of 'str' and 'int'"},
	{"{{ ['B', 'a', 'c']|sort(reverse=true) }}|{{ [{'r': 'b'}, {'r': 'A'}]|sort(attribute='r')|map(attribute='r')|join }}|{{ 'cba'|sort|join }}|{{ {'b': 1, 'a': 2}|sort }}", "['c', 'B', 'a']|Ab|abc|['a', 'b']", ""},
	{"{{ none + 'a' }}", "", "TypeError: unsupported operand type(s) for +: 'NoneType' and 'str'"},
	{"{{ 'a' + none }}", "", "TypeError: can only concatenate str (not \"NoneType\") to str"},
	{"{{ [1] + [2] }}|{{ 1 + 2.5 }}|{{ true + 1 }}|{{ 'a' + 'b' }}|{{ ((1, 2) + (3,))|length }}", "[1, 2]|3.5|2|ab|3", ""},
	{"{{ {} + {} }}", "", "TypeError: unsupported operand type(s) for +: 'dict' and 'dict'"},
	{"{{ [1] + (2,) }}", "", "TypeError: can only concatenate list (not \"tuple\") to list"},
}

const probeMessages = `[{"role": "system", "content": "  Sys\n"}, {"role": "user", "content": "Hi there"},
	{"role": "assistant", "content": "Yo", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}]`

func TestJinja2Semantics(t *testing.T) {
	probe, err := DecodeMessages([]byte(probeMessages))
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range []struct {
		cases []semanticsCase
		in    Inputs
	}{
		{whitespaceCases, Inputs{Messages: []Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Yo"}}, BOSToken: "<s>", EOSToken: "</s>"}},
		{pythonCases, Inputs{Messages: probe, AddGenerationPrompt: true, BOSToken: "<s>", EOSToken: "</s>"}},
	} {
		for _, tc := range group.cases {
			tpl, err := Parse(tc.src)
			if err != nil {
				t.Errorf("%q: %v", tc.src, err)
				continue
			}
			got, err := tpl.Render(group.in)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Errorf("%q:\n got %q, %v\nwant %q", tc.src, got, err, tc.want)
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
}
