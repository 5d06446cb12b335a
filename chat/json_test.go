package chat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	v, err := DecodeJSON([]byte(` {"z": 1, "a": {"y": [true, null, "s"], "b": 2.50}, "m": -3e2, "z": 7} `))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		{"z", json.Number("7")}, // first position, last value, as json.loads
		{"a", Object{{"y", []any{true, nil, "s"}}, {"b", json.Number("2.50")}}},
		{"m", json.Number("-3e2")},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v\nwant %#v", v, want)
	}
	out, err := AppendJSON(nil, v)
	if err != nil || string(out) != `{"z":7,"a":{"y":[true,null,"s"],"b":2.50},"m":-3e2}` {
		t.Errorf("AppendJSON: %s, %v", out, err)
	}

	// A large object switches to an index for repeated keys.
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		b.WriteString(`"k` + itoa(i%60) + `": ` + itoa(i) + `,`)
	}
	b.WriteString(`"last": 0}`)
	v, err = DecodeJSON([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if obj := v.(Object); len(obj) != 61 || obj[0].Key != "k0" || obj[0].Value != json.Number("60") || obj[60].Key != "last" {
		t.Errorf("repeated keys in a large object: %v", obj)
	}

	for _, bad := range []string{"", "{", `{"a" 1}`, `[1,]`, `{"a":1} x`, `{"a":1}{}`, `{1: 2}`, `"\x01"`, strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1)} {
		if v, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%.40q) = %v, want an error", bad, v)
		}
	}
	deep := strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth)
	if _, err := DecodeJSON([]byte(deep)); err != nil {
		t.Errorf("nesting of %d refused: %v", MaxJSONDepth, err)
	}
}

func TestAppendJSON(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{map[string]any{"b": 1, "a": []any{int64(2), 2.5, "<&>"}}, `{"a":[2,2.5,"<&>"],"b":1}`},
		{Object{{"é", "神\n\"\\"}}, `{"é":"神\n\"\\"}`},
		{nil, `null`},
	} {
		got, err := AppendJSON(nil, tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("AppendJSON(%v) = %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	for _, bad := range []any{struct{}{}, json.Number("1x"), []any{make(chan int)}} {
		if got, err := AppendJSON(nil, bad); err == nil {
			t.Errorf("AppendJSON(%T) = %s, want an error", bad, got)
		}
	}
}

func TestMessageJSON(t *testing.T) {
	var m Message
	in := `{"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}], "role": "assistant", "content": null, "name": "bot"}`
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if m.Role != "assistant" || m.Content != "" || len(m.Extra) != 3 || m.Extra[0].Key != "tool_calls" || m.Extra[1].Key != "content" || m.Extra[2].Key != "name" {
		t.Fatalf("decoded %+v", m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}],"name":"bot"}`
	if string(out) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", out, want)
	}

	// The template sees the keys in that order, content as none.
	tpl, err := Parse("{{ messages[0]|tojson }}|{{ messages[0].content is none }}|{{ messages[0].tool_calls[0].function.name }}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render(Inputs{Messages: []Message{m}})
	wantRender := `{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}], "name": "bot"}|True|f`
	if err != nil || got != wantRender {
		t.Errorf("rendered %q, %v\nwant %q", got, err, wantRender)
	}

	// OpenAI content parts: the texts joined with newlines.
	if err := json.Unmarshal([]byte(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Content != "a\nb" || len(m.Extra) != 0 {
		t.Errorf("content parts: %+v", m)
	}
	for _, bad := range []string{`[]`, `{"role": 1}`, `{"role":"user","content":5}`,
		`{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}`, `{"role":"user","content":[{"type":"text"}]}`, `{"role":"user","content":["a"]}`} {
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}

	msgs, err := DecodeMessages([]byte(`{"model": "x", "messages": [{"role": "user", "content": "hi"}]}`))
	if err != nil || len(msgs) != 1 || msgs[0].Content != "hi" {
		t.Errorf("DecodeMessages(request) = %+v, %v", msgs, err)
	}
	for _, bad := range []string{`{}`, `5`, `[1]`, `[{"role":"user","content":{}}]`} {
		if _, err := DecodeMessages([]byte(bad)); err == nil {
			t.Errorf("DecodeMessages(%s) accepted", bad)
		}
	}
}

// FuzzDecodeJSON: the ordered decoder never panics, agrees with
// encoding/json on what is valid JSON, and what it decodes encodes back to
// a value that decodes the same.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,{"b":null}],"a":true}`, `[]`, `"x\u00e9"`, `{"":{}}`, `[[[[1]]]]`, ` 1 `, `{"a":1}x`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if (err == nil) != json.Valid(data) && len(data) <= MaxJSONSize {
			if err == nil || !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("DecodeJSON error %v, json.Valid %v", err, json.Valid(data))
			}
		}
		if err != nil {
			return
		}
		out, err := AppendJSON(nil, v)
		if err != nil {
			t.Fatalf("AppendJSON of a decoded value: %v", err)
		}
		v2, err := DecodeJSON(out)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip: %s -> %v, %v", out, v2, err)
		}
	})
}
