package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Template is a parsed chat template.
type Template struct {
	source string // as given
	engine *jinja.Template
}

// Parse prepares and parses a template source.
func Parse(source string) (*Template, error) {
	segs, err := lex(source)
	if err != nil {
		return nil, err
	}
	prepared, err := engineSource(segs)
	if err != nil {
		return nil, err
	}
	t, err := compile(prepared)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{source: source, engine: t}, nil
}

// compile runs the engine's parser, turning a panic on strange input into
// an error: template sources come from model files.
func compile(src string) (t *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("template engine failed on this template: %v", r)
		}
	}()
	return jinja.Compile(src)
}

// Limits of one rendering. maxRange is jinja2's sandbox limit on range();
// the others bound what a template from a model file can make a renderer
// do: loop iterations and macro calls in all, and macro nesting (the
// engine recurses on the Go stack).
const (
	maxRange      = 100000
	maxMacroDepth = 200
)

// maxSteps is a variable so that a test can lower it.
var maxSteps = 10_000_000

// renderLimits counts one rendering's work.
type renderLimits struct {
	steps, depth int
}

func (l *renderLimits) step(n int) error {
	l.steps += n
	if l.steps > maxSteps {
		return fmt.Errorf("template ran more than %d loop iterations and macro calls", maxSteps)
	}
	return nil
}

// Source returns the template's source as given to Parse.
func (t *Template) Source() string { return t.source }

// Inputs are the variables transformers passes to a chat template.
type Inputs struct {
	Messages            []Message
	Tools               []any // JSON values (Object for objects); nil is none
	Documents           []any // nil is none
	AddGenerationPrompt bool
	BOSToken, EOSToken  string
	Now                 func() time.Time // strftime_now's clock; nil is time.Now
}

// TemplateError is raised by the template itself: raise_exception(message).
type TemplateError struct {
	Message string
}

func (e *TemplateError) Error() string { return e.Message }

// Render renders the template. An error the template raises is a
// *TemplateError with the template's message; any other failure is wrapped
// with its context.
func (t *Template) Render(in Inputs) (string, error) {
	now := in.Now
	if now == nil {
		now = time.Now
	}
	messages := make([]jinja.Value, len(in.Messages))
	for i := range in.Messages {
		v, err := toValue(in.Messages[i].object(), 0)
		if err != nil {
			return "", fmt.Errorf("chat template: messages[%d]: %w", i, err)
		}
		messages[i] = v
	}
	tools, err := optionalList(in.Tools)
	if err != nil {
		return "", fmt.Errorf("chat template: tools: %w", err)
	}
	documents, err := optionalList(in.Documents)
	if err != nil {
		return "", fmt.Errorf("chat template: documents: %w", err)
	}
	limits := &renderLimits{}
	data := map[string]jinja.Value{
		"messages":              jinja.NewList(messages),
		"tools":                 tools,
		"documents":             documents,
		"add_generation_prompt": jinja.NewBool(in.AddGenerationPrompt),
		"bos_token":             jinja.NewString(in.BOSToken),
		"eos_token":             jinja.NewString(in.EOSToken),
		"raise_exception":       jinja.NewCallable("raise_exception", raiseException),
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Undefined(), errors.New("strftime_now takes one format string")
			}
			return jinja.NewString(Strftime(now(), args[0].AsString())), nil
		}),
		iterableFunc: jinja.NewCallable(iterableFunc, func(args []jinja.Value, kw map[string]jinja.Value) (jinja.Value, error) {
			v, err := checkIterable(args, kw)
			if err != nil {
				return v, err
			}
			return v, limits.step(iterationCount(v))
		}),
		macroEnterFunc: jinja.NewCallable(macroEnterFunc, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			limits.depth++
			if limits.depth > maxMacroDepth {
				return jinja.Undefined(), fmt.Errorf("RecursionError: macros nested deeper than %d", maxMacroDepth)
			}
			return jinja.NewString(""), limits.step(1)
		}),
		macroLeaveFunc: jinja.NewCallable(macroLeaveFunc, func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			limits.depth--
			return jinja.NewString(""), nil
		}),
		definedFunc: jinja.NewCallable(definedFunc, checkDefined),
		// notJSONFunc(value, type) raises json.dumps' TypeError for a value
		// of that Python type; for "Undefined" and "list_reverseiterator" it
		// passes values of other types through.
		notJSONFunc: jinja.NewCallable(notJSONFunc, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			typ := "generator"
			if len(args) == 2 && args[1].IsString() {
				typ = args[1].AsString()
			}
			switch {
			case len(args) == 0:
			case typ == "Undefined" && !args[0].IsUndefined():
				return args[0], nil
			case typ == "list_reverseiterator" && args[0].IsString():
				return args[0], nil // reverse of a string is a string
			}
			return jinja.Undefined(), fmt.Errorf("TypeError: Object of type %s is not JSON serializable", typ)
		}),
	}
	for name, fn := range pythonGlobals {
		data[name] = jinja.NewCallable(name, fn)
	}
	out, err := renderEngine(t.engine, data)
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			return "", te
		}
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// pythonGlobals are the stateless globals the rewrites call (rewrite.go),
// and jinja2's sandboxed range.
var pythonGlobals = map[string]func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error){
	"range":               pyRange,
	addFunc:               pyAdd,
	modFunc:               pyMod,
	compareFunc:           pyCompare,
	immutableFunc:         checkImmutable,
	strMethodFunc:         callStrMethod,
	"__infer_sort":        sortFilter,
	"__infer_center":      centerFilter,
	"__infer_truncate":    truncateFilter,
	"__infer_format":      formatFilter,
	"__infer_attr":        attrFilter,
	"__infer_forceescape": forceEscapeFilter,
	"__infer_slice":       sliceFilter,
}

// renderEngine runs the engine, turning a panic into an error.
func renderEngine(t *jinja.Template, data map[string]jinja.Value) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("template engine failed: %v", r)
		}
	}()
	return t.RenderValues(data)
}

// iterationCount is how many times a for loop over v runs.
func iterationCount(v jinja.Value) int {
	switch {
	case v.IsList():
		return v.AsList().Len()
	case v.IsDict():
		return v.AsDict().Len()
	case v.IsString():
		return len(v.AsString()) // bytes: at least the runes
	}
	return 0
}

// pyRange is jinja2's sandboxed range: Python's range of ints, refused
// beyond maxRange items.
func pyRange(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var bounds [3]int64
	for i, a := range args {
		if i >= 3 || !a.IsInt() && !a.IsBool() {
			return jinja.Undefined(), errors.New("TypeError: range() takes 1 to 3 integers")
		}
		if a.IsBool() {
			if a.AsBool() {
				bounds[i] = 1
			}
			continue
		}
		bounds[i] = a.AsInt()
	}
	start, stop, step := int64(0), bounds[0], int64(1)
	switch len(args) {
	case 0:
		return jinja.Undefined(), errors.New("TypeError: range expected at least 1 argument, got 0")
	case 2:
		start, stop = bounds[0], bounds[1]
	case 3:
		start, stop, step = bounds[0], bounds[1], bounds[2]
	}
	if step == 0 {
		return jinja.Undefined(), errors.New("ValueError: range() arg 3 must not be zero")
	}
	// The count in unsigned arithmetic, which cannot overflow here.
	var n uint64
	switch {
	case step > 0 && stop > start:
		n = (uint64(stop)-uint64(start)-1)/uint64(step) + 1
	case step < 0 && start > stop:
		n = (uint64(start)-uint64(stop)-1)/(uint64(-(step+1))+1) + 1
	}
	if n > maxRange {
		return jinja.Undefined(), fmt.Errorf("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", maxRange)
	}
	items := make([]jinja.Value, n)
	for i := range items {
		items[i] = jinja.NewInt(start + int64(i)*step)
	}
	return jinja.NewList(items), nil
}

func raiseException(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), &TemplateError{Message: ""}
	}
	return jinja.Undefined(), &TemplateError{Message: pyStr(args[0])}
}

// pyStr is Python's str() of a value, as jinja2 prints it.
func pyStr(v jinja.Value) string {
	switch {
	case v.IsString():
		return v.AsString()
	case v.IsUndefined():
		return ""
	}
	return v.String()
}

// checkIterable passes a for loop's iterable through, failing where Python
// cannot iterate (see rewrite.go).
func checkIterable(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 1 {
		return jinja.Undefined(), errors.New("internal: iterable check without its argument")
	}
	v := args[0]
	var typ string
	switch {
	case v.IsNone():
		typ = "NoneType"
	case v.IsBool():
		typ = "bool"
	case v.IsInt():
		typ = "int"
	case v.IsFloat():
		typ = "float"
	case v.IsCallable():
		typ = "function"
	default:
		return v, nil
	}
	return jinja.Undefined(), fmt.Errorf("TypeError: '%s' object is not iterable", typ)
}

// UndefinedError is jinja2's error for using an undefined value in a way
// that needs one (see rewrite.go).
type undefinedError struct{ msg string }

func (e *undefinedError) Error() string { return "UndefinedError: " + e.msg }

// checkDefined passes its first argument through unless it is undefined,
// then raises with jinja2's message: (value, name) for a variable, (value,
// "", object, key) for an attribute or item, (value) otherwise.
func checkDefined(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("internal: undefined check without its argument")
	}
	if !args[0].IsUndefined() {
		return args[0], nil
	}
	switch {
	case len(args) == 2 && args[1].IsString():
		return jinja.Undefined(), &undefinedError{pyRepr(args[1].AsString()) + " is undefined"}
	case len(args) == 4 && args[3].IsString():
		return jinja.Undefined(), &undefinedError{pyRepr(objectTypeRepr(args[2])) + " has no attribute " + pyRepr(args[3].AsString())}
	case len(args) == 4:
		return jinja.Undefined(), &undefinedError{objectTypeRepr(args[2]) + " has no element " + args[3].String()}
	}
	return jinja.Undefined(), &undefinedError{"a value is undefined"}
}

// objectTypeRepr is jinja2's object_type_repr.
func objectTypeRepr(v jinja.Value) string {
	switch {
	case v.IsNone():
		return "None"
	case v.IsBool():
		return "bool object"
	case v.IsInt():
		return "int object"
	case v.IsFloat():
		return "float object"
	case v.IsString():
		return "str object"
	case v.IsList():
		return "list object"
	case v.IsDict():
		return "dict object"
	case v.IsCallable():
		return "function object"
	}
	return "jinja2.runtime.Undefined object"
}

// pyRepr is Python's repr of a string.
func pyRepr(s string) string { return jinja.NewString(s).String() }

func optionalList(vs []any) (jinja.Value, error) {
	if vs == nil {
		return jinja.None(), nil
	}
	return toValue(vs, 0)
}

// toValue converts a JSON value (the kinds DecodeJSON returns, plus Go's
// plain numbers, []any and map[string]any) to the engine's value, keeping
// the order of Object keys.
func toValue(v any, depth int) (jinja.Value, error) {
	if depth > MaxJSONDepth {
		return jinja.Undefined(), fmt.Errorf("nested deeper than %d", MaxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return jinja.NewString(x), nil
	case int:
		return jinja.NewInt(int64(x)), nil
	case int64:
		return jinja.NewInt(x), nil
	case float64:
		return jinja.NewFloat(x), nil
	case json.Number:
		// Python's json.loads: an integer without fraction or exponent
		// stays an int, anything else is a float.
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return jinja.NewInt(i), nil
			}
		}
		f, err := x.Float64()
		if err != nil {
			return jinja.Undefined(), fmt.Errorf("number %q: %w", string(x), err)
		}
		return jinja.NewFloat(f), nil
	case []any:
		items := make([]jinja.Value, len(x))
		for i, e := range x {
			item, err := toValue(e, depth+1)
			if err != nil {
				return jinja.Undefined(), err
			}
			items[i] = item
		}
		return jinja.NewList(items), nil
	case Object:
		d := jinja.NewDict()
		for _, f := range x {
			item, err := toValue(f.Value, depth+1)
			if err != nil {
				return jinja.Undefined(), err
			}
			d.AsDict().Set(f.Key, item)
		}
		return d, nil
	case []Field:
		return toValue(Object(x), depth)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		obj := make(Object, len(keys))
		for i, k := range keys {
			obj[i] = Field{k, x[k]}
		}
		return toValue(obj, depth)
	}
	return jinja.Undefined(), fmt.Errorf("cannot pass a %T to a template", v)
}
