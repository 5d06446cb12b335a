package chat

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Python behaviour the engine lacks or computes otherwise, reached through
// the rewrites of rewrite.go: + with Python's types, the sandbox's refusal
// to mutate lists and dicts, str methods, and jinja2's sort filter.

// pyTypeName is the name of v's Python type, for error messages.
func pyTypeName(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return "Undefined"
	case v.IsNone():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInt():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		if strings.HasPrefix(v.String(), "(") {
			return "tuple"
		}
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "function"
}

func isPyNumber(v jinja.Value) bool { return v.IsInt() || v.IsFloat() || v.IsBool() }

func pyInt(v jinja.Value) int64 {
	if v.IsBool() {
		if v.AsBool() {
			return 1
		}
		return 0
	}
	return v.AsInt()
}

func pyFloat(v jinja.Value) float64 {
	if v.IsFloat() {
		return v.AsFloat()
	}
	return float64(pyInt(v))
}

// pyAdd is Python's a + b for the types templates meet: numbers, strings,
// lists. Anything else is Python's TypeError (the engine would print
// "None" into the text for 'x' + none).
func pyAdd(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 {
		return jinja.Undefined(), errors.New("internal: + without two operands")
	}
	a, b := args[0], args[1]
	switch {
	case a.IsString() && b.IsString():
		return jinja.NewString(a.AsString() + b.AsString()), nil
	case isPyNumber(a) && isPyNumber(b):
		if a.IsFloat() || b.IsFloat() {
			return jinja.NewFloat(pyFloat(a) + pyFloat(b)), nil
		}
		x, y := pyInt(a), pyInt(b)
		if s := x + y; (s > x) == (y > 0) {
			return jinja.NewInt(s), nil
		}
		return jinja.NewFloat(float64(x) + float64(y)), nil // beyond int64: Python's big int, approximated
	case a.IsList() && b.IsList() && pyTypeName(a) == pyTypeName(b):
		items := make([]jinja.Value, 0, a.AsList().Len()+b.AsList().Len())
		items = append(items, a.AsList().Items...)
		items = append(items, b.AsList().Items...)
		return jinja.NewList(items), nil
	case a.IsString() || a.IsList():
		return jinja.Undefined(), fmt.Errorf("TypeError: can only concatenate %s (not \"%s\") to %s", pyTypeName(a), pyTypeName(b), pyTypeName(a))
	}
	return jinja.Undefined(), fmt.Errorf("TypeError: unsupported operand type(s) for +: '%s' and '%s'", pyTypeName(a), pyTypeName(b))
}

// mutatingMethods are the methods of list and dict that jinja2's
// ImmutableSandboxedEnvironment refuses.
var mutatingMethods = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "clear": true, "sort": true, "reverse": true,
	"update": true, "setdefault": true, "popitem": true, "__setitem__": true, "__delitem__": true,
}

// checkImmutable passes the receiver of a mutating method call through
// unless it is a list or dict: then it raises the sandbox's SecurityError.
func checkImmutable(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 || !args[1].IsString() {
		return jinja.Undefined(), errors.New("internal: immutability check without its arguments")
	}
	if v := args[0]; v.IsList() || v.IsDict() {
		return jinja.Undefined(), fmt.Errorf("SecurityError: access to attribute '%s' of '%s' object is unsafe.", args[1].AsString(), pyTypeName(v))
	}
	return args[0], nil
}

// strMethods are the str methods implemented here: the engine lacks them,
// or (format) implements only a part.
var strMethods = map[string]bool{
	"join": true, "splitlines": true, "rsplit": true, "rfind": true, "index": true, "rindex": true,
	"isdigit": true, "isalpha": true, "isalnum": true, "isspace": true, "isupper": true, "islower": true,
	"isnumeric": true, "isdecimal": true, "istitle": true, "swapcase": true, "zfill": true, "center": true,
	"ljust": true, "rjust": true, "partition": true, "rpartition": true, "removeprefix": true,
	"removesuffix": true, "casefold": true, "format": true,
}

// callStrMethod is (receiver, method name, args...): receiver.method(args).
func callStrMethod(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 2 || !args[1].IsString() {
		return jinja.Undefined(), errors.New("internal: method call without its receiver")
	}
	recv, name, rest := args[0], args[1].AsString(), args[2:]
	if recv.IsUndefined() {
		return jinja.Undefined(), &undefinedError{"a value is undefined"}
	}
	if recv.IsList() && name == "index" && len(rest) == 1 {
		// list.index shares its name with str.index.
		for i, it := range recv.AsList().Items {
			if it.Equals(rest[0]) {
				return jinja.NewInt(int64(i)), nil
			}
		}
		return jinja.Undefined(), fmt.Errorf("ValueError: %s is not in list", rest[0].String())
	}
	if !recv.IsString() {
		return jinja.Undefined(), &undefinedError{pyRepr(objectTypeRepr(recv)) + " has no attribute " + pyRepr(name)}
	}
	s := recv.AsString()
	str := func(i int, def string) (string, error) {
		if i >= len(rest) || rest[i].IsNone() {
			return def, nil
		}
		if !rest[i].IsString() {
			return "", fmt.Errorf("TypeError: %s() argument %d must be str, not %s", name, i+1, pyTypeName(rest[i]))
		}
		return rest[i].AsString(), nil
	}
	num := func(i int, def int64) (int64, error) {
		if i >= len(rest) {
			return def, nil
		}
		if !rest[i].IsInt() && !rest[i].IsBool() {
			return 0, fmt.Errorf("TypeError: %s() argument %d must be int, not %s", name, i+1, pyTypeName(rest[i]))
		}
		return pyInt(rest[i]), nil
	}
	strs := func(parts []string) jinja.Value {
		items := make([]jinja.Value, len(parts))
		for i, p := range parts {
			items[i] = jinja.NewString(p)
		}
		return jinja.NewList(items)
	}
	all := func(pred func(rune) bool) jinja.Value {
		if s == "" {
			return jinja.NewBool(false)
		}
		for _, r := range s {
			if !pred(r) {
				return jinja.NewBool(false)
			}
		}
		return jinja.NewBool(true)
	}
	switch name {
	case "format":
		out, err := pyFormat(s, rest, kwargs)
		return jinja.NewString(out), err
	case "join":
		if len(rest) != 1 {
			return jinja.Undefined(), errors.New("TypeError: str.join() takes exactly one argument")
		}
		var items []jinja.Value
		switch it := rest[0]; {
		case it.IsList():
			items = it.AsList().Items
		case it.IsString():
			for _, r := range it.AsString() {
				items = append(items, jinja.NewString(string(r)))
			}
		case it.IsDict():
			for _, k := range it.AsDict().Keys {
				items = append(items, jinja.NewString(k))
			}
		default:
			return jinja.Undefined(), errors.New("TypeError: can only join an iterable")
		}
		parts := make([]string, len(items))
		for i, it := range items {
			if !it.IsString() {
				return jinja.Undefined(), fmt.Errorf("TypeError: sequence item %d: expected str instance, %s found", i, pyTypeName(it))
			}
			parts[i] = it.AsString()
		}
		return jinja.NewString(strings.Join(parts, s)), nil
	case "splitlines":
		keep := len(rest) > 0 && rest[0].IsTruthy() || kwargs["keepends"].IsTruthy()
		return strs(splitLines(s, keep)), nil
	case "rsplit":
		sep, err := str(0, "")
		if err != nil {
			return jinja.Undefined(), err
		}
		maxsplit, err := num(1, -1)
		if err != nil {
			return jinja.Undefined(), err
		}
		if len(rest) > 0 && !rest[0].IsNone() && sep == "" {
			return jinja.Undefined(), errors.New("ValueError: empty separator")
		}
		return strs(rsplit(s, sep, int(maxsplit))), nil
	case "rfind", "index", "rindex":
		sub, err := str(0, "")
		if err != nil || len(rest) == 0 {
			return jinja.Undefined(), errors.Join(err, fmt.Errorf("TypeError: %s() takes at least 1 argument", name))
		}
		var i int
		if name == "index" {
			i = strings.Index(s, sub)
		} else {
			i = strings.LastIndex(s, sub)
		}
		if i < 0 && name != "rfind" {
			return jinja.Undefined(), errors.New("ValueError: substring not found")
		}
		if i >= 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return jinja.NewInt(int64(i)), nil
	case "isdigit", "isdecimal":
		return all(unicode.IsDigit), nil
	case "isnumeric":
		return all(unicode.IsNumber), nil
	case "isalpha":
		return all(unicode.IsLetter), nil
	case "isalnum":
		return all(func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }), nil
	case "isspace":
		return all(isPySpace), nil
	case "isupper", "islower":
		cased, ok := false, true
		for _, r := range s {
			if unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) {
				cased = true
				if name == "isupper" && !unicode.IsUpper(r) || name == "islower" && !unicode.IsLower(r) {
					ok = false
				}
			}
		}
		return jinja.NewBool(cased && ok), nil
	case "istitle":
		cased, ok, prevCased := false, true, false
		for _, r := range s {
			switch {
			case unicode.IsUpper(r) || unicode.IsTitle(r):
				ok = ok && !prevCased
				cased, prevCased = true, true
			case unicode.IsLower(r):
				ok = ok && prevCased
				cased, prevCased = true, true
			default:
				prevCased = false
			}
		}
		return jinja.NewBool(cased && ok), nil
	case "swapcase":
		return jinja.NewString(strings.Map(func(r rune) rune {
			if unicode.IsUpper(r) {
				return unicode.ToLower(r)
			}
			return unicode.ToUpper(r)
		}, s)), nil
	case "casefold":
		return jinja.NewString(strings.ToLower(s)), nil
	case "zfill", "center", "ljust", "rjust":
		width, err := num(0, 0)
		if err != nil || len(rest) == 0 {
			return jinja.Undefined(), errors.Join(err, fmt.Errorf("TypeError: %s() takes at least 1 argument", name))
		}
		fill, err := str(1, " ")
		if err != nil || utf8.RuneCountInString(fill) != 1 {
			return jinja.Undefined(), errors.Join(err, errors.New("TypeError: the fill character must be exactly one character long"))
		}
		if name == "zfill" {
			return jinja.NewString(zfill(s, int(width))), nil
		}
		if name == "center" {
			return jinja.NewString(center(s, int(width), fill)), nil
		}
		return jinja.NewString(pad(s, int(width), fill, map[string]byte{"ljust": '<', "rjust": '>'}[name])), nil
	case "partition", "rpartition":
		sep, err := str(0, "")
		if err != nil || sep == "" {
			return jinja.Undefined(), errors.Join(err, errors.New("ValueError: empty separator"))
		}
		i := strings.Index(s, sep)
		if name == "rpartition" {
			i = strings.LastIndex(s, sep)
		}
		switch {
		case i >= 0:
			return strs([]string{s[:i], sep, s[i+len(sep):]}), nil
		case name == "partition":
			return strs([]string{s, "", ""}), nil
		}
		return strs([]string{"", "", s}), nil
	case "removeprefix", "removesuffix":
		affix, err := str(0, "")
		if err != nil {
			return jinja.Undefined(), err
		}
		if name == "removeprefix" {
			return jinja.NewString(strings.TrimPrefix(s, affix)), nil
		}
		return jinja.NewString(strings.TrimSuffix(s, affix)), nil
	}
	return jinja.Undefined(), fmt.Errorf("internal: no str method %q", name)
}

// splitLines is str.splitlines: Python's line boundaries.
func splitLines(s string, keep bool) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			end := i + n
			if r == '\r' && end < len(s) && s[end] == '\n' {
				end++
			}
			if keep {
				lines = append(lines, s[start:end])
			} else {
				lines = append(lines, s[start:i])
			}
			start, i = end, end
			continue
		}
		i += n
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// rsplit is str.rsplit; sep "" splits on runs of whitespace.
func rsplit(s, sep string, maxsplit int) []string {
	var parts []string
	if sep == "" {
		rest := strings.TrimRightFunc(s, isPySpace)
		for rest != "" {
			if maxsplit >= 0 && len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			i := strings.LastIndexFunc(rest, isPySpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			_, n := utf8.DecodeRuneInString(rest[i:])
			parts = append(parts, rest[i+n:])
			rest = strings.TrimRightFunc(rest[:i], isPySpace)
		}
	} else {
		rest := s
		for maxsplit < 0 || len(parts) < maxsplit {
			i := strings.LastIndex(rest, sep)
			if i < 0 {
				break
			}
			parts = append(parts, rest[i+len(sep):])
			rest = rest[:i]
		}
		parts = append(parts, rest)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

func zfill(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	return sign + strings.Repeat("0", width-n) + s
}

// pad aligns s in width with fill: '<' left, '>' right, '^' centre with
// the odd fill character on the right (format's rule).
func pad(s string, width int, fill string, align byte) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	total := width - n
	switch align {
	case '<':
		return s + strings.Repeat(fill, total)
	case '>':
		return strings.Repeat(fill, total) + s
	}
	left := total / 2
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, total-left)
}

// center is str.center: CPython puts the odd fill character on the left
// when the width is odd too.
func center(s string, width int, fill string) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	total := width - n
	left := total/2 + total&width&1
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, total-left)
}

// pyFormat is str.format: {} {0} {name}, !r !s conversions and format
// specs [[fill]align][sign][0][width][,][.precision][type].
func pyFormat(s string, args []jinja.Value, kwargs map[string]jinja.Value) (string, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '}' {
			if i+1 < len(s) && s[i+1] == '}' {
				b.WriteByte('}')
				i++
				continue
			}
			return "", errors.New("ValueError: Single '}' encountered in format string")
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("ValueError: expected '}' before end of string")
		}
		field := s[i+1 : i+end]
		i += end
		field, spec, _ := strings.Cut(field, ":")
		field, conv, hasConv := strings.Cut(field, "!")
		var v jinja.Value
		switch {
		case field == "":
			if auto >= len(args) {
				return "", fmt.Errorf("IndexError: Replacement index %d out of range for positional args tuple", auto)
			}
			v = args[auto]
			auto++
		case field[0] >= '0' && field[0] <= '9':
			n, err := strconv.Atoi(field)
			if err != nil || n >= len(args) {
				return "", fmt.Errorf("IndexError: Replacement index %s out of range for positional args tuple", field)
			}
			v = args[n]
		default:
			kv, ok := kwargs[field]
			if !ok {
				return "", fmt.Errorf("KeyError: %s", pyRepr(field))
			}
			v = kv
		}
		if hasConv {
			switch conv {
			case "r", "a":
				v = jinja.NewString(v.String())
			case "s":
				v = jinja.NewString(pyStr(v))
			default:
				return "", fmt.Errorf("ValueError: Unknown conversion specifier %s", conv)
			}
		}
		out, err := formatSpec(v, spec)
		if err != nil {
			return "", err
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// formatSpec is format(v, spec) for str, int and float values.
func formatSpec(v jinja.Value, spec string) (string, error) {
	fill, align := " ", byte(0)
	if r, n := utf8.DecodeRuneInString(spec); n > 0 && n < len(spec) && strings.IndexByte("<>^=", spec[n]) >= 0 {
		fill, align, spec = string(r), spec[n], spec[n+1:]
	} else if spec != "" && strings.IndexByte("<>^=", spec[0]) >= 0 {
		align, spec = spec[0], spec[1:]
	}
	sign := byte('-')
	if spec != "" && strings.IndexByte("+- ", spec[0]) >= 0 {
		sign, spec = spec[0], spec[1:]
	}
	if strings.HasPrefix(spec, "0") && align == 0 {
		fill, align, spec = "0", '=', spec[1:]
	}
	i := 0
	for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
		i++
	}
	width, _ := strconv.Atoi(spec[:i])
	spec = spec[i:]
	comma := strings.HasPrefix(spec, ",")
	if comma {
		spec = spec[1:]
	}
	prec := -1
	if strings.HasPrefix(spec, ".") {
		j := 1
		for j < len(spec) && spec[j] >= '0' && spec[j] <= '9' {
			j++
		}
		prec, _ = strconv.Atoi(spec[1:j])
		spec = spec[j:]
	}
	typ := spec
	if len(typ) > 1 {
		return "", fmt.Errorf("ValueError: Invalid format specifier")
	}
	var body, signText string
	switch {
	case v.IsString():
		if typ != "" && typ != "s" {
			return "", fmt.Errorf("ValueError: Unknown format code '%s' for object of type 'str'", typ)
		}
		body = v.AsString()
		if prec >= 0 && utf8.RuneCountInString(body) > prec {
			body = string([]rune(body)[:prec])
		}
		if align == 0 {
			align = '<'
		}
	case isPyNumber(v):
		f := pyFloat(v)
		neg := f < 0 || f == 0 && math.Signbit(f)
		if neg {
			signText = "-"
		} else if sign != '-' {
			signText = string(sign)
		}
		switch typ {
		case "", "d", "n":
			if v.IsFloat() && typ == "" {
				if prec >= 0 {
					body = strconv.FormatFloat(math.Abs(f), 'g', prec, 64)
				} else {
					body = strings.TrimPrefix(v.String(), "-")
				}
			} else if v.IsFloat() {
				return "", errors.New("ValueError: Unknown format code 'd' for object of type 'float'")
			} else {
				n := pyInt(v)
				body = strconv.FormatUint(uint64(n), 10)
				if n < 0 {
					body = strconv.FormatUint(uint64(-n), 10)
				}
				if comma {
					body = groupThousands(body)
				}
			}
		case "f", "F", "e", "E", "g", "G", "%":
			if prec < 0 {
				prec = 6
			}
			x := math.Abs(f)
			if typ == "%" {
				body = strconv.FormatFloat(x*100, 'f', prec, 64) + "%"
			} else {
				body = strconv.FormatFloat(x, typ[0], prec, 64) // Go writes exponents as Python does (e+06)
			}
			if comma {
				intPart, frac, _ := strings.Cut(body, ".")
				body = groupThousands(intPart)
				if frac != "" {
					body += "." + frac
				}
			}
		case "x", "X", "o", "b":
			if v.IsFloat() {
				return "", fmt.Errorf("ValueError: Unknown format code '%s' for object of type 'float'", typ)
			}
			n := pyInt(v)
			if n < 0 {
				n = -n
			}
			base := map[string]int{"x": 16, "X": 16, "o": 8, "b": 2}[typ]
			body = strconv.FormatUint(uint64(n), base)
			if typ == "X" {
				body = strings.ToUpper(body)
			}
		default:
			return "", fmt.Errorf("ValueError: Unknown format code '%s' for object of type '%s'", typ, pyTypeName(v))
		}
		if align == 0 {
			align = '>'
		}
	default:
		if typ != "" || align == '=' {
			return "", fmt.Errorf("TypeError: unsupported format string passed to %s.__format__", pyTypeName(v))
		}
		body = pyStr(v)
		if align == 0 {
			align = '<'
		}
	}
	n := utf8.RuneCountInString(signText + body)
	if n >= width {
		return signText + body, nil
	}
	if align == '=' {
		return signText + strings.Repeat(fill, width-n) + body, nil
	}
	if align == '^' {
		left := (width - n) / 2
		return strings.Repeat(fill, left) + signText + body + strings.Repeat(fill, width-n-left), nil
	}
	return pad(signText+body, width, fill, align), nil
}

func groupThousands(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sortFilter is jinja2's sort filter: sort(value, reverse=False,
// case_sensitive=False, attribute=None), a stable sort in which strings
// compare case-insensitively unless case_sensitive.
func sortFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("TypeError: sort needs a value")
	}
	opt := func(i int, name string) jinja.Value {
		if v, ok := kwargs[name]; ok {
			return v
		}
		if i < len(args) {
			return args[i]
		}
		return jinja.None()
	}
	reverse, caseSensitive, attribute := opt(1, "reverse").IsTruthy(), opt(2, "case_sensitive").IsTruthy(), opt(3, "attribute")
	var items []jinja.Value
	switch v := args[0]; {
	case v.IsList():
		items = append(items, v.AsList().Items...)
	case v.IsString():
		for _, r := range v.AsString() {
			items = append(items, jinja.NewString(string(r)))
		}
	case v.IsDict():
		for _, k := range v.AsDict().Keys {
			items = append(items, jinja.NewString(k))
		}
	case v.IsUndefined():
	default:
		return jinja.Undefined(), fmt.Errorf("TypeError: '%s' object is not iterable", pyTypeName(v))
	}
	keys := make([]jinja.Value, len(items))
	for i, it := range items {
		k := it
		if !attribute.IsNone() {
			k = itemPath(it, pyStr(attribute))
		}
		if k.IsString() && !caseSensitive {
			k = jinja.NewString(strings.ToLower(k.AsString()))
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(x, y int) bool {
		a, b := keys[idx[x]], keys[idx[y]]
		if reverse {
			a, b = b, a
		}
		less, err := pyLess(a, b)
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return less
	})
	if cmpErr != nil {
		return jinja.Undefined(), cmpErr
	}
	out := make([]jinja.Value, len(items))
	for i, j := range idx {
		out[i] = items[j]
	}
	return jinja.NewList(out), nil
}

// itemPath looks up a dotted attribute path ("a.b", "0") as jinja2's
// make_attrgetter does: a key of a dict, an index of a list.
func itemPath(v jinja.Value, path string) jinja.Value {
	for _, part := range strings.Split(path, ".") {
		switch {
		case v.IsDict():
			next, ok := v.AsDict().Get(part)
			if !ok {
				return jinja.Undefined()
			}
			v = next
		case v.IsList():
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= v.AsList().Len() {
				return jinja.Undefined()
			}
			v = v.AsList().Get(i)
		default:
			return jinja.Undefined()
		}
	}
	return v
}

// pyLess is Python's a < b for numbers, strings and lists of them.
func pyLess(a, b jinja.Value) (bool, error) {
	switch {
	case isPyNumber(a) && isPyNumber(b):
		if a.IsFloat() || b.IsFloat() {
			return pyFloat(a) < pyFloat(b), nil
		}
		return pyInt(a) < pyInt(b), nil
	case a.IsString() && b.IsString():
		return a.AsString() < b.AsString(), nil // UTF-8 order is code point order
	case a.IsList() && b.IsList():
		x, y := a.AsList().Items, b.AsList().Items
		for i := 0; i < len(x) && i < len(y); i++ {
			if x[i].Equals(y[i]) {
				continue
			}
			return pyLess(x[i], y[i])
		}
		return len(x) < len(y), nil
	}
	return false, fmt.Errorf("TypeError: '<' not supported between instances of '%s' and '%s'", pyTypeName(a), pyTypeName(b))
}

// pyMod is Python's a % b: printf-style formatting when a is a string
// (the engine hands its arguments to Go's fmt, which prints '%s' % 5 as
// "%!s(int64=5)"), else the modulo of numbers, floored as Python's is.
func pyMod(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 {
		return jinja.Undefined(), errors.New("internal: % without two operands")
	}
	a, b := args[0], args[1]
	switch {
	case a.IsString():
		out, err := pyPercentFormat(a.AsString(), b)
		return jinja.NewString(out), err
	case isPyNumber(a) && isPyNumber(b):
		if a.IsFloat() || b.IsFloat() {
			y := pyFloat(b)
			if y == 0 {
				return jinja.Undefined(), errors.New("ZeroDivisionError: float modulo")
			}
			r := math.Mod(pyFloat(a), y)
			if r != 0 && (r < 0) != (y < 0) {
				r += y
			}
			return jinja.NewFloat(r), nil
		}
		x, y := pyInt(a), pyInt(b)
		if y == 0 {
			return jinja.Undefined(), errors.New("ZeroDivisionError: integer modulo by zero")
		}
		if y == -1 {
			return jinja.NewInt(0), nil // and no overflow for MinInt64 % -1
		}
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return jinja.NewInt(r), nil
	}
	return jinja.Undefined(), fmt.Errorf("TypeError: unsupported operand type(s) for %%: '%s' and '%s'", pyTypeName(a), pyTypeName(b))
}

// pyPercentFormat is Python's format % values.
func pyPercentFormat(format string, values jinja.Value) (string, error) {
	switch {
	case pyTypeName(values) == "tuple":
		return percentFormat(format, values.AsList().Items, nil)
	case values.IsDict():
		return percentFormat(format, []jinja.Value{values}, values.AsDict())
	}
	return percentFormat(format, []jinja.Value{values}, nil)
}

// percentFormat formats with positional args, or with mapping for %(key)s.
func percentFormat(format string, args []jinja.Value, mapping *jinja.Dict) (string, error) {
	next := 0
	take := func() (jinja.Value, error) {
		if next >= len(args) {
			return jinja.Undefined(), errors.New("TypeError: not enough arguments for format string")
		}
		next++
		return args[next-1], nil
	}
	usedMapping := false
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			b.WriteByte(format[i])
			continue
		}
		i++
		if i >= len(format) {
			return "", errors.New("ValueError: incomplete format")
		}
		var v jinja.Value
		haveValue := false
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", errors.New("ValueError: incomplete format key")
			}
			if mapping == nil {
				return "", errors.New("TypeError: format requires a mapping")
			}
			key := format[i+1 : i+end]
			mv, ok := mapping.Get(key)
			if !ok {
				return "", fmt.Errorf("KeyError: %s", pyRepr(key))
			}
			v, haveValue, usedMapping = mv, true, true
			i += end + 1
		}
		var flags string
		for i < len(format) && strings.IndexByte("#0- +", format[i]) >= 0 {
			flags += format[i : i+1]
			i++
		}
		number := func() (int, error) {
			if i < len(format) && format[i] == '*' {
				i++
				w, err := take()
				if err != nil {
					return 0, err
				}
				if !w.IsInt() {
					return 0, errors.New("TypeError: * wants int")
				}
				return int(w.AsInt()), nil
			}
			start := i
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				i++
			}
			n, _ := strconv.Atoi(format[start:i])
			return n, nil
		}
		width, err := number()
		if err != nil {
			return "", err
		}
		if width < 0 {
			flags, width = flags+"-", -width
		}
		prec := -1
		if i < len(format) && format[i] == '.' {
			i++
			if prec, err = number(); err != nil {
				return "", err
			}
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return "", errors.New("ValueError: incomplete format")
		}
		conv := format[i]
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveValue {
			if v, err = take(); err != nil {
				return "", err
			}
		}
		out, err := percentOne(conv, flags, prec, v)
		if err != nil {
			return "", err
		}
		n := utf8.RuneCountInString(out)
		switch {
		case n >= width:
		case strings.Contains(flags, "-"):
			out += strings.Repeat(" ", width-n)
		case strings.Contains(flags, "0") && strings.IndexByte("diuoxXeEfFgG", conv) >= 0 && isPyNumber(v):
			sign := ""
			if out != "" && (out[0] == '-' || out[0] == '+' || out[0] == ' ') {
				sign, out = out[:1], out[1:]
			}
			out = sign + strings.Repeat("0", width-n) + out
		default:
			out = strings.Repeat(" ", width-n) + out
		}
		b.WriteString(out)
	}
	if next < len(args) && !usedMapping && mapping == nil {
		return "", errors.New("TypeError: not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// percentOne formats one value for a % conversion.
func percentOne(conv byte, flags string, prec int, v jinja.Value) (string, error) {
	signed := func(neg bool, body string) string {
		switch {
		case neg:
			return "-" + body
		case strings.Contains(flags, "+"):
			return "+" + body
		case strings.Contains(flags, " "):
			return " " + body
		}
		return body
	}
	switch conv {
	case 's', 'r', 'a':
		s := pyStr(v)
		if conv != 's' {
			s = v.String()
		}
		if prec >= 0 && utf8.RuneCountInString(s) > prec {
			s = string([]rune(s)[:prec])
		}
		return s, nil
	case 'd', 'i', 'u':
		if !isPyNumber(v) {
			return "", fmt.Errorf("TypeError: %%%c format: a real number is required, not %s", conv, pyTypeName(v))
		}
		var n int64
		if v.IsFloat() {
			n = int64(v.AsFloat())
		} else {
			n = pyInt(v)
		}
		mag := strconv.FormatUint(uint64(n), 10)
		if n < 0 {
			mag = strconv.FormatUint(uint64(-n), 10)
		}
		return signed(n < 0, mag), nil
	case 'x', 'X', 'o':
		if !v.IsInt() && !v.IsBool() {
			return "", fmt.Errorf("TypeError: %%%c format: an integer is required, not %s", conv, pyTypeName(v))
		}
		n := pyInt(v)
		mag := uint64(n)
		if n < 0 {
			mag = uint64(-n)
		}
		base, prefix := 16, "0x"
		if conv == 'o' {
			base, prefix = 8, "0o"
		}
		body := strconv.FormatUint(mag, base)
		if strings.Contains(flags, "#") {
			body = prefix + body
		}
		if conv == 'X' {
			body = strings.ToUpper(body)
		}
		return signed(n < 0, body), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if !isPyNumber(v) {
			return "", fmt.Errorf("TypeError: must be real number, not %s", pyTypeName(v))
		}
		if prec < 0 {
			prec = 6
		}
		f := pyFloat(v)
		body := strconv.FormatFloat(math.Abs(f), conv|0x20, prec, 64)
		if conv == 'E' || conv == 'G' || conv == 'F' {
			body = strings.ToUpper(body)
		}
		return signed(f < 0 || f == 0 && math.Signbit(f), body), nil
	case 'c':
		switch {
		case v.IsInt():
			return string(rune(v.AsInt())), nil
		case v.IsString() && utf8.RuneCountInString(v.AsString()) == 1:
			return v.AsString(), nil
		}
		return "", errors.New("TypeError: %c requires int or char")
	}
	return "", fmt.Errorf("ValueError: unsupported format character '%c'", conv)
}

// centerFilter is jinja2's center(value, width=80).
func centerFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("TypeError: center needs a value")
	}
	width := int64(80)
	w, ok := kwargs["width"]
	if !ok && len(args) > 1 {
		w, ok = args[1], true
	}
	if ok {
		if !w.IsInt() {
			return jinja.Undefined(), fmt.Errorf("TypeError: 'str' object cannot be interpreted as an integer")
		}
		width = w.AsInt()
	}
	return jinja.NewString(center(pyStr(args[0]), int(width), " ")), nil
}

// truncateFilter is jinja2's truncate(s, length=255, killwords=False,
// end='...', leeway=5).
func truncateFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("TypeError: truncate needs a value")
	}
	opt := func(i int, name string, def jinja.Value) jinja.Value {
		if v, ok := kwargs[name]; ok {
			return v
		}
		if i < len(args) {
			return args[i]
		}
		return def
	}
	length, killwords, end, leeway := opt(1, "length", jinja.NewInt(255)), opt(2, "killwords", jinja.NewBool(false)),
		opt(3, "end", jinja.NewString("...")), opt(4, "leeway", jinja.NewInt(5))
	if !length.IsInt() || !leeway.IsInt() {
		return jinja.Undefined(), errors.New("TypeError: truncate's length and leeway must be integers")
	}
	s := []rune(pyStr(args[0]))
	e := pyStr(end)
	n, lw := int(length.AsInt()), int(leeway.AsInt())
	if len(s) <= n+lw {
		return jinja.NewString(string(s)), nil
	}
	cut := max(0, min(len(s), n-utf8.RuneCountInString(e)))
	if killwords.IsTruthy() {
		return jinja.NewString(string(s[:cut]) + e), nil
	}
	head := string(s[:cut])
	if i := strings.LastIndexByte(head, ' '); i >= 0 {
		head = head[:i]
	}
	return jinja.NewString(head + e), nil
}

// pyCompare is (a, b, op): Python's a op b for <, >, <=, >=.
func pyCompare(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 3 || !args[2].IsString() {
		return jinja.Undefined(), errors.New("internal: comparison without its operands")
	}
	a, b, op := args[0], args[1], args[2].AsString()
	var less bool
	var err error
	switch op {
	case "<":
		less, err = pyLess(a, b)
	case ">":
		less, err = pyLess(b, a)
	case "<=", ">=":
		x, y := b, a
		if op == ">=" {
			x, y = a, b
		}
		less, err = pyLess(x, y) // a <= b is not (b < a)
		less = !less
		if isPyNumber(a) && isPyNumber(b) && (math.IsNaN(pyFloat(a)) || math.IsNaN(pyFloat(b))) {
			less = false
		}
	}
	if err != nil {
		return jinja.Undefined(), fmt.Errorf("TypeError: '%s' not supported between instances of '%s' and '%s'", op, pyTypeName(a), pyTypeName(b))
	}
	return jinja.NewBool(less), nil
}

// formatFilter is jinja2's format(value, *args, **kwargs): value % args, or
// value % kwargs.
func formatFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("TypeError: format needs a value")
	}
	if len(args) > 1 && len(kwargs) > 0 {
		return jinja.Undefined(), errors.New("FilterArgumentError: can't handle positional and keyword arguments at the same time")
	}
	var out string
	var err error
	if len(kwargs) > 0 {
		d := jinja.NewDict()
		for k, v := range kwargs {
			d.AsDict().Set(k, v)
		}
		out, err = percentFormat(pyStr(args[0]), []jinja.Value{d}, d.AsDict())
	} else {
		out, err = percentFormat(pyStr(args[0]), args[1:], nil)
	}
	return jinja.NewString(out), err
}

// attrFilter is jinja2's attr(obj, name): Python's getattr, which finds no
// attribute for a dict's keys, a list's items or a string's characters.
func attrFilter([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
	return jinja.Undefined(), nil
}

// forceEscapeFilter is jinja2's forceescape: HTML escaping as markupsafe's.
func forceEscapeFilter(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("TypeError: forceescape needs a value")
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return jinja.NewString(r.Replace(pyStr(args[0]))), nil
}

// sliceFilter is jinja2's slice(value, slices, fill_with=None): the items
// in that many columns, the first ones one longer.
func sliceFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 2 || !args[1].IsInt() || args[1].AsInt() <= 0 || args[1].AsInt() > maxRange {
		return jinja.Undefined(), errors.New("TypeError: slice needs a value and a positive number of slices")
	}
	var seq []jinja.Value
	switch v := args[0]; {
	case v.IsList():
		seq = v.AsList().Items
	case v.IsString():
		for _, r := range v.AsString() {
			seq = append(seq, jinja.NewString(string(r)))
		}
	case v.IsDict():
		for _, k := range v.AsDict().Keys {
			seq = append(seq, jinja.NewString(k))
		}
	}
	fill, hasFill := kwargs["fill_with"]
	if !hasFill && len(args) > 2 {
		fill, hasFill = args[2], true
	}
	hasFill = hasFill && !fill.IsNone()
	slices := int(args[1].AsInt())
	per, extra := len(seq)/slices, len(seq)%slices
	out := make([]jinja.Value, 0, slices)
	offset := 0
	for n := 0; n < slices; n++ {
		start := offset + n*per
		if n < extra {
			offset++
		}
		end := offset + (n+1)*per
		part := append([]jinja.Value(nil), seq[start:end]...)
		if hasFill && n >= extra {
			part = append(part, fill)
		}
		out = append(out, jinja.NewList(part))
	}
	return jinja.NewList(out), nil
}
