package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one turn of a conversation as templates see it: messages[i]
// is a dict with "role", "content" and then Extra's keys in order (name,
// tool_calls, tool_call_id, ...). An Extra field named "content" replaces
// Content in the dict (in its place, second): that is how a null content
// (an assistant turn that only calls tools) reaches the template as none.
type Message struct {
	Role, Content string
	Extra         []Field
}

// UnmarshalJSON decodes an OpenAI-style message, keeping the order of its
// keys. "content" may be a string, null (kept as Extra content: none), or
// an array of parts of which only {"type": "text", "text": ...} are
// accepted; their texts are joined with "\n", as llama.cpp does for
// templates that take a string.
func (m *Message) UnmarshalJSON(data []byte) error {
	v, err := DecodeJSON(data)
	if err != nil {
		return fmt.Errorf("message: %w", err)
	}
	obj, ok := v.(Object)
	if !ok {
		return fmt.Errorf("message: want a JSON object, have %s", jsonKind(v))
	}
	return m.fromObject(obj)
}

func (m *Message) fromObject(obj Object) error {
	*m = Message{}
	for _, f := range obj {
		switch f.Key {
		case "role":
			s, ok := f.Value.(string)
			if !ok {
				return fmt.Errorf("message: role is %s, want a string", jsonKind(f.Value))
			}
			m.Role = s
		case "content":
			switch c := f.Value.(type) {
			case string:
				m.Content = c
			case nil:
				m.Extra = append(m.Extra, Field{Key: "content", Value: nil})
			case []any:
				text, err := joinTextParts(c)
				if err != nil {
					return err
				}
				m.Content = text
			default:
				return fmt.Errorf("message: content is %s, want a string, null or an array of text parts", jsonKind(c))
			}
		default:
			m.Extra = append(m.Extra, f)
		}
	}
	return nil
}

func joinTextParts(parts []any) (string, error) {
	var b strings.Builder
	for i, p := range parts {
		obj, ok := p.(Object)
		if !ok {
			return "", fmt.Errorf("message: content part %d is %s, want an object", i, jsonKind(p))
		}
		typ, _ := obj.Get("type")
		if typ != "text" {
			return "", fmt.Errorf("message: content part %d has type %v; only text parts are supported", i, typ)
		}
		text, ok := obj.Get("text")
		s, isString := text.(string)
		if !ok || !isString {
			return "", fmt.Errorf("message: content part %d has no text string", i)
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// MarshalJSON writes role, content and then the Extra keys in order.
func (m Message) MarshalJSON() ([]byte, error) {
	return AppendJSON(nil, m.object())
}

// object is the message as the template sees it.
func (m *Message) object() Object {
	obj := make(Object, 0, 2+len(m.Extra))
	obj = append(obj, Field{"role", m.Role}, Field{"content", m.Content})
	for _, f := range m.Extra {
		if f.Key == "role" {
			obj[0].Value = f.Value
			continue
		}
		if f.Key == "content" {
			obj[1].Value = f.Value
			continue
		}
		obj = append(obj, f)
	}
	return obj
}

// DecodeMessages decodes a JSON array of messages, or an object holding one
// under "messages" (an OpenAI chat request).
func DecodeMessages(data []byte) ([]Message, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	if obj, ok := v.(Object); ok {
		mv, ok := obj.Get("messages")
		if !ok {
			return nil, errors.New("messages: object without a \"messages\" key")
		}
		v = mv
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("messages: want an array, have %s", jsonKind(v))
	}
	msgs := make([]Message, len(list))
	for i, e := range list {
		obj, ok := e.(Object)
		if !ok {
			return nil, fmt.Errorf("messages[%d]: want an object, have %s", i, jsonKind(e))
		}
		if err := msgs[i].fromObject(obj); err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
	}
	return msgs, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case Object:
		return "an object"
	}
	return "a number"
}
