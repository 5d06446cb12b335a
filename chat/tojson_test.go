package chat

import "testing"

// tojsonInput is the tools value of TestToJSON: key order that is not
// sorted, floats that Python prints its own way, and characters that
// ensure_ascii escapes.
const tojsonInput = "[{\"z\": 1, \"a\": [1.0, 2.5, 1e5, 1e20, 1.5e-7, -0.0, 12345678901234567], \"m\": {}, \"l\": [], \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001 \\u007f </script> & '\"}, true, null, \"x\"]"

// TestToJSON holds tojson to transformers' filter (json.dumps with
// ensure_ascii=False and Python's separators), as rendered by jinja2 3.1.6
// with the settings of ../shared/chat/README.md (expected strings computed
// there).
func TestToJSON(t *testing.T) {
	tools, err := DecodeJSON([]byte(tojsonInput))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ expr, want string }{
		{"tools|tojson", "[{\"z\": 1, \"a\": [1.0, 2.5, 100000.0, 1e+20, 1.5e-07, -0.0, 12345678901234567], \"m\": {}, \"l\": [], \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\"}, true, null, \"x\"]"},
		{"tools|tojson(indent=2)", "[\n  {\n    \"z\": 1,\n    \"a\": [\n      1.0,\n      2.5,\n      100000.0,\n      1e+20,\n      1.5e-07,\n      -0.0,\n      12345678901234567\n    ],\n    \"m\": {},\n    \"l\": [],\n    \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\"\n  },\n  true,\n  null,\n  \"x\"\n]"},
		{"tools|tojson(indent=4)", "[\n    {\n        \"z\": 1,\n        \"a\": [\n            1.0,\n            2.5,\n            100000.0,\n            1e+20,\n            1.5e-07,\n            -0.0,\n            12345678901234567\n        ],\n        \"m\": {},\n        \"l\": [],\n        \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\"\n    },\n    true,\n    null,\n    \"x\"\n]"},
		{"tools[0]|tojson(ensure_ascii=True)", "{\"z\": 1, \"a\": [1.0, 2.5, 100000.0, 1e+20, 1.5e-07, -0.0, 12345678901234567], \"m\": {}, \"l\": [], \"s\": \"\\u00e9 \\u795e \\ud83e\\udde0 \\n\\t\\\"\\\\ \\u0001 \\u007f </script> & '\"}"},
		{"tools[0]|tojson(sort_keys=True)", "{\"a\": [1.0, 2.5, 100000.0, 1e+20, 1.5e-07, -0.0, 12345678901234567], \"l\": [], \"m\": {}, \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\", \"z\": 1}"},
		{"tools|tojson(separators=(',', ':'))", "[{\"z\":1,\"a\":[1.0,2.5,100000.0,1e+20,1.5e-07,-0.0,12345678901234567],\"m\":{},\"l\":[],\"s\":\"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\"},true,null,\"x\"]"},
		{"tools[0].m|tojson(indent=2)", "{}"},
		{"tools[0].l|tojson(indent=2)", "[]"},
		{"tools[0]|tojson(indent=2, sort_keys=True)", "{\n  \"a\": [\n    1.0,\n    2.5,\n    100000.0,\n    1e+20,\n    1.5e-07,\n    -0.0,\n    12345678901234567\n  ],\n  \"l\": [],\n  \"m\": {},\n  \"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\",\n  \"z\": 1\n}"},
		{"tools[0].s|tojson", "\"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\""},
		{"3|tojson", "3"},
		{"'x'|tojson", "\"x\""},
		{"none|tojson", "null"},
		{"{'b': 1, 'a': [true, none]}|tojson", "{\"b\": 1, \"a\": [true, null]}"},
		{"tools[0].a[0]|tojson", "1.0"},
		{"(1, 2)|tojson", "[1, 2]"},
		{"tools|tojson(indent='\t')", "[\n\t{\n\t\t\"z\": 1,\n\t\t\"a\": [\n\t\t\t1.0,\n\t\t\t2.5,\n\t\t\t100000.0,\n\t\t\t1e+20,\n\t\t\t1.5e-07,\n\t\t\t-0.0,\n\t\t\t12345678901234567\n\t\t],\n\t\t\"m\": {},\n\t\t\"l\": [],\n\t\t\"s\": \"é 神 🧠 \\n\\t\\\"\\\\ \\u0001  </script> & '\"\n\t},\n\ttrue,\n\tnull,\n\t\"x\"\n]"},
		{"1.5|tojson", "1.5"},
		{"(10/4)|tojson", "2.5"},
		{"(10/5)|tojson", "2.0"},
	} {
		tpl, err := Parse("{{ " + tc.expr + " }}")
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		got, err := tpl.Render(Inputs{Tools: tools.([]any)})
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.expr, got, tc.want)
		}
	}
}
