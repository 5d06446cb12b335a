package chat

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expressions are rewritten where the engine accepts what jinja2 refuses,
// or computes something else. Each rewrite only wraps a sub-expression of
// the original text in a call to one of infer's globals; the rest of the
// text is passed on as it was written.
//
//   - The engine iterates over none, numbers and booleans as if they were
//     empty; jinja2 raises TypeError ("'NoneType' object is not iterable"),
//     which is how a template that loops over `tools` fails when no tools
//     are given. The iterable of every for loop goes through iterableFunc.
//   - jinja2's Undefined (a missing variable, key or attribute) prints as ""
//     and is false, but raises UndefinedError when used: as the base of an
//     attribute or item, an operand of arithmetic or of <, >, <=, >=, or the
//     input of tojson or dictsort. The engine lets all of that through. So
//     such operands go through definedFunc, which raises with jinja2's
//     message ("'functions' is undefined", "'dict object' has no attribute
//     'description'").
//   - jinja2's map, select, reject, selectattr, rejectattr, unique, batch and
//     slice filters return Python generators, and reverse an iterator; the
//     engine returns lists. tojson of a generator raises TypeError in
//     transformers (llama.cpp's deepseek-r1 template with tools), so a
//     tojson applied directly to one of those filters goes through
//     notJSONFunc, which raises the same error.
//   - `x|safe` (and |e) is a markupsafe.Markup in jinja2, and Markup + str
//     HTML-escapes the str (meetkai functionary v3.1 builds its tool list
//     this way). The engine has no Markup type, so where one operand of +
//     is written as a Markup (a safe or escape filter, or a + of one), the
//     other operand is escaped with |e. A Markup kept in a variable is not
//     seen (see the README's list of differences).
//
// An expression this parser does not understand is passed on unchanged.

// Names of infer's globals used by the rewrites.
const (
	iterableFunc = "__infer_iterable"
	definedFunc  = "__infer_defined"
	notJSONFunc  = "__infer_not_json"

	macroEnterFunc = "__infer_macro_enter"
	macroLeaveFunc = "__infer_macro_leave"

	addFunc       = "__infer_add"
	modFunc       = "__infer_mod"
	compareFunc   = "__infer_compare"
	immutableFunc = "__infer_immutable"
	strMethodFunc = "__infer_str_method"
)

// replacedFilters are jinja2 filters the engine computes otherwise, and the
// globals that compute them here.
var replacedFilters = map[string]string{
	"sort":        "__infer_sort", // case-insensitive by default in jinja2
	"center":      "__infer_center",
	"truncate":    "__infer_truncate",
	"format":      "__infer_format",
	"attr":        "__infer_attr",
	"forceescape": "__infer_forceescape",
	"slice":       "__infer_slice",
}

// iteratorFilters are jinja2's filters that return a generator (or, for
// reverse, an iterator) rather than a list, with the Python type's name.
var iteratorFilters = map[string]string{
	"map": "generator", "select": "generator", "reject": "generator", "selectattr": "generator",
	"rejectattr": "generator", "unique": "generator", "batch": "generator", "slice": "generator",
	"reverse": "list_reverseiterator",
}

// tokKind is the kind of a token inside a tag.
type tokKind int

const (
	tokSpace tokKind = iota
	tokName
	tokString
	tokNumber
	tokOp
)

// token is one token of a tag's inside; text is s[pos:pos+len(text)].
type token struct {
	kind tokKind
	text string
	pos  int
}

// twoCharOps are jinja2's operators of two characters.
var twoCharOps = []string{"//", "**", "==", "!=", "<=", ">="}

// tokenize splits the inside of a tag into tokens the way jinja2's tag rules
// do, closely enough to find keywords and brackets: the source has been
// lexed already, so strings are known to be terminated.
func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		start := i
		var kind tokKind
		switch {
		case isPySpace(r):
			kind = tokSpace
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if !isPySpace(r) {
					break
				}
				i += n
			}
		case r == '_' || unicode.IsLetter(r):
			kind = tokName
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				i += n
			}
		case r >= '0' && r <= '9':
			kind = tokNumber
			for i < len(s) {
				c := s[i]
				if c >= '0' && c <= '9' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
					i++
					if (c == 'e' || c == 'E') && i < len(s) && (s[i] == '+' || s[i] == '-') {
						i++
					}
					continue
				}
				break
			}
		case r == '\'' || r == '"':
			kind = tokString
			if j, ok := skipString(s, i); ok {
				i = j
			} else {
				i = len(s)
			}
		default:
			kind = tokOp
			i += n
			for _, op := range twoCharOps {
				if strings.HasPrefix(s[start:], op) {
					i = start + 2
					break
				}
			}
		}
		toks = append(toks, token{kind: kind, text: s[start:i], pos: start})
	}
	return toks
}

// topLevelName returns the index of the first token at or after from that
// is the name kw outside any brackets, or -1.
func topLevelName(toks []token, from int, kw ...string) int {
	depth := 0
	for i := from; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokOp && (t.text == "(" || t.text == "[" || t.text == "{"):
			depth++
		case t.kind == tokOp && (t.text == ")" || t.text == "]" || t.text == "}"):
			depth--
		case t.kind == tokName && depth == 0:
			for _, k := range kw {
				if t.text == k {
					return i
				}
			}
		}
	}
	return -1
}

// firstWord returns the index of the first token that is not space, or -1.
func firstWord(toks []token) int {
	for i, t := range toks {
		if t.kind != tokSpace {
			return i
		}
	}
	return -1
}

// exprKind is the kind of an expression node.
type exprKind int

const (
	eName    exprKind = iota // variable
	eConst                   // string, number, true/false/none literal
	eParen                   // ( expr ), kids[0]
	eTuple                   // a, b (with or without parentheses)
	eList                    // [ ... ]
	eDict                    // { k: v, ... }
	eAttr                    // kids[0].op
	eItem                    // kids[0][kids[1:]...] (subscript or slice)
	eCall                    // kids[0](args...)
	eFilter                  // kids[0] | op(args...)
	eTest                    // kids[0] is op args...
	eUnary                   // op kids[0]: "-", "+", "not"
	eBinary                  // kids[0] op kids[1]
	eCompare                 // kids[0] ops[0] kids[1] ops[1] kids[2] ...
	eCond                    // kids[0] if kids[1] [else kids[2]]
)

// expr is a parsed expression: its span in the source and its
// sub-expressions in source order, so that it can be written back with
// only some of them wrapped.
type expr struct {
	kind       exprKind
	start, end int
	kids       []*expr
	op         string   // name, attribute, filter, test or operator
	ops        []string // eCompare's operators
	constKey   bool     // eItem with one constant, non-slice key
}

// exprParser follows jinja2 3.1's Parser.parse_* methods over the tokens
// of one tag (spaces removed).
type exprParser struct {
	src  string
	toks []token
	i    int
	err  bool
}

func newExprParser(src string, toks []token) *exprParser {
	p := &exprParser{src: src}
	for _, t := range toks {
		if t.kind != tokSpace {
			p.toks = append(p.toks, t)
		}
	}
	return p
}

// maxExprDepth bounds the parser's recursion on deeply nested input.
const maxExprDepth = 200

func (p *exprParser) done() bool { return p.err || p.i >= len(p.toks) }

func (p *exprParser) peek() token {
	if p.done() {
		return token{kind: tokSpace, pos: len(p.src)}
	}
	return p.toks[p.i]
}

func (p *exprParser) isOp(s string) bool {
	t := p.peek()
	return !p.done() && t.kind == tokOp && t.text == s
}

func (p *exprParser) isName(s string) bool {
	t := p.peek()
	return !p.done() && t.kind == tokName && t.text == s
}

// end is the byte offset after the last consumed token.
func (p *exprParser) end() int {
	if p.i == 0 {
		return 0
	}
	t := p.toks[p.i-1]
	return t.pos + len(t.text)
}

func (p *exprParser) expectOp(s string) {
	if !p.isOp(s) {
		p.err = true
		return
	}
	p.i++
}

func (p *exprParser) node(kind exprKind, start int, op string, kids ...*expr) *expr {
	return &expr{kind: kind, start: start, end: p.end(), op: op, kids: kids}
}

// parseTuple is parse_tuple: expressions separated by commas, a tuple if
// there is a comma. It stops before a name in endNames, a ")" or the end.
func (p *exprParser) parseTuple(withCond bool, depth int, endNames ...string) *expr {
	start := p.peek().pos
	var items []*expr
	comma := false
	for !p.done() {
		if len(items) > 0 {
			if !p.isOp(",") {
				break
			}
			p.i++
			comma = true
		}
		if p.done() || p.isOp(")") || p.peek().kind == tokName && contains(endNames, p.peek().text) {
			break
		}
		if withCond {
			items = append(items, p.parseCond(depth+1))
		} else {
			items = append(items, p.parseOr(depth+1))
		}
	}
	if len(items) == 1 && !comma {
		return items[0]
	}
	if len(items) == 0 && !p.isOp(")") {
		p.err = true
	}
	return p.node(eTuple, start, "", items...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *exprParser) parseCond(depth int) *expr {
	if depth > maxExprDepth {
		p.err = true
		return &expr{}
	}
	start := p.peek().pos
	e := p.parseOr(depth + 1)
	for p.isName("if") {
		p.i++
		cond := p.parseOr(depth + 1)
		if p.isName("else") {
			p.i++
			e = p.node(eCond, start, "", e, cond, p.parseCond(depth+1))
		} else {
			e = p.node(eCond, start, "", e, cond)
		}
	}
	return e
}

func (p *exprParser) parseOr(depth int) *expr {
	start := p.peek().pos
	e := p.parseAnd(depth)
	for p.isName("or") {
		p.i++
		e = p.node(eBinary, start, "or", e, p.parseAnd(depth))
	}
	return e
}

func (p *exprParser) parseAnd(depth int) *expr {
	start := p.peek().pos
	e := p.parseNot(depth)
	for p.isName("and") {
		p.i++
		e = p.node(eBinary, start, "and", e, p.parseNot(depth))
	}
	return e
}

func (p *exprParser) parseNot(depth int) *expr {
	if depth > maxExprDepth {
		p.err = true
		return &expr{}
	}
	if p.isName("not") {
		start := p.peek().pos
		p.i++
		return p.node(eUnary, start, "not", p.parseNot(depth+1))
	}
	return p.parseCompare(depth)
}

func (p *exprParser) parseCompare(depth int) *expr {
	start := p.peek().pos
	e := p.parseMath1(depth)
	var kids []*expr
	var ops []string
	for !p.done() {
		t := p.peek()
		var op string
		switch {
		case t.kind == tokOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			op = t.text
			p.i++
		case p.isName("in"):
			op = "in"
			p.i++
		case p.isName("not") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokName && p.toks[p.i+1].text == "in":
			op = "not in"
			p.i += 2
		}
		if op == "" {
			break
		}
		if kids == nil {
			kids = []*expr{e}
		}
		kids = append(kids, p.parseMath1(depth))
		ops = append(ops, op)
	}
	if kids == nil {
		return e
	}
	n := p.node(eCompare, start, "", kids...)
	n.ops = ops
	return n
}

func (p *exprParser) parseMath1(depth int) *expr {
	start := p.peek().pos
	e := p.parseConcat(depth)
	for p.isOp("+") || p.isOp("-") {
		op := p.peek().text
		p.i++
		e = p.node(eBinary, start, op, e, p.parseConcat(depth))
	}
	return e
}

func (p *exprParser) parseConcat(depth int) *expr {
	start := p.peek().pos
	e := p.parseMath2(depth)
	for p.isOp("~") {
		p.i++
		e = p.node(eBinary, start, "~", e, p.parseMath2(depth))
	}
	return e
}

func (p *exprParser) parseMath2(depth int) *expr {
	start := p.peek().pos
	e := p.parsePow(depth)
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		op := p.peek().text
		p.i++
		e = p.node(eBinary, start, op, e, p.parsePow(depth))
	}
	return e
}

func (p *exprParser) parsePow(depth int) *expr {
	start := p.peek().pos
	e := p.parseUnary(depth, true)
	for p.isOp("**") {
		p.i++
		e = p.node(eBinary, start, "**", e, p.parseUnary(depth, true))
	}
	return e
}

func (p *exprParser) parseUnary(depth int, withFilter bool) *expr {
	if depth > maxExprDepth {
		p.err = true
		return &expr{}
	}
	start := p.peek().pos
	var e *expr
	if p.isOp("-") || p.isOp("+") {
		op := p.peek().text
		p.i++
		e = p.node(eUnary, start, op, p.parseUnary(depth+1, false))
	} else {
		e = p.parsePrimary(depth + 1)
	}
	e = p.parsePostfix(e, depth+1)
	if withFilter {
		e = p.parseFilterExpr(e, depth+1)
	}
	return e
}

func (p *exprParser) parsePrimary(depth int) *expr {
	if p.done() {
		p.err = true
		return &expr{}
	}
	t := p.peek()
	start := t.pos
	switch t.kind {
	case tokName:
		p.i++
		switch t.text {
		case "true", "false", "none", "True", "False", "None":
			return p.node(eConst, start, t.text)
		}
		return p.node(eName, start, t.text)
	case tokString:
		for !p.done() && p.peek().kind == tokString {
			p.i++
		}
		return p.node(eConst, start, "")
	case tokNumber:
		p.i++
		return p.node(eConst, start, "")
	}
	switch t.text {
	case "(":
		p.i++
		if p.isOp(")") {
			p.i++
			return p.node(eTuple, start, "")
		}
		inner := p.parseTuple(true, depth)
		p.expectOp(")")
		return p.node(eParen, start, "", inner)
	case "[":
		p.i++
		var items []*expr
		for !p.done() && !p.isOp("]") {
			if len(items) > 0 {
				p.expectOp(",")
				if p.isOp("]") {
					break
				}
			}
			items = append(items, p.parseCond(depth))
		}
		p.expectOp("]")
		return p.node(eList, start, "", items...)
	case "{":
		p.i++
		var items []*expr
		for !p.done() && !p.isOp("}") {
			if len(items) > 0 {
				p.expectOp(",")
				if p.isOp("}") {
					break
				}
			}
			items = append(items, p.parseCond(depth))
			p.expectOp(":")
			items = append(items, p.parseCond(depth))
		}
		p.expectOp("}")
		return p.node(eDict, start, "", items...)
	}
	p.err = true
	return &expr{}
}

func (p *exprParser) parsePostfix(e *expr, depth int) *expr {
	for !p.done() {
		switch {
		case p.isOp("."):
			p.i++
			t := p.peek()
			if p.done() || t.kind != tokName && t.kind != tokNumber {
				p.err = true
				return e
			}
			p.i++
			e = p.node(eAttr, e.start, t.text, e)
		case p.isOp("["):
			e = p.parseSubscript(e, depth)
		case p.isOp("("):
			e = p.parseCall(e, depth)
		default:
			return e
		}
	}
	return e
}

// parseSubscript parses [a], [a:b:c], [a, b] after e.
func (p *exprParser) parseSubscript(e *expr, depth int) *expr {
	p.i++ // "["
	kids := []*expr{e}
	simple := true
	for !p.done() && !p.isOp("]") {
		switch {
		case p.isOp(":") || p.isOp(","):
			simple = false
			p.i++
		default:
			kids = append(kids, p.parseCond(depth))
		}
	}
	p.expectOp("]")
	n := p.node(eItem, e.start, "", kids...)
	n.constKey = simple && len(kids) == 2 && kids[1].kind == eConst
	return n
}

// parseCall parses (args) after e: positional, name=value, *a, **kw.
func (p *exprParser) parseCall(e *expr, depth int) *expr {
	p.i++ // "("
	kids := []*expr{e}
	first := true
	for !p.done() && !p.isOp(")") {
		if !first {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		first = false
		switch {
		case p.isOp("*") || p.isOp("**"):
			p.i++
		case p.peek().kind == tokName && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokOp && p.toks[p.i+1].text == "=":
			p.i += 2
		}
		kids = append(kids, p.parseCond(depth))
	}
	p.expectOp(")")
	return p.node(eCall, e.start, "", kids...)
}

// dottedName parses name(.name)* of a filter or test.
func (p *exprParser) dottedName() string {
	t := p.peek()
	if p.done() || t.kind != tokName {
		p.err = true
		return ""
	}
	p.i++
	name := t.text
	for p.isOp(".") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokName {
		name += "." + p.toks[p.i+1].text
		p.i += 2
	}
	return name
}

func (p *exprParser) parseFilterExpr(e *expr, depth int) *expr {
	for !p.done() {
		switch {
		case p.isOp("|"):
			p.i++
			name := p.dottedName()
			kids := []*expr{e}
			if p.isOp("(") {
				call := p.parseCall(&expr{start: p.peek().pos, end: p.peek().pos}, depth)
				kids = append(kids, call.kids[1:]...)
			}
			e = p.node(eFilter, e.start, name, kids...)
		case p.isName("is"):
			p.i++
			if p.isName("not") {
				p.i++
			}
			name := p.dottedName()
			kids := []*expr{e}
			t := p.peek()
			switch {
			case p.isOp("("):
				call := p.parseCall(&expr{start: t.pos, end: t.pos}, depth)
				kids = append(kids, call.kids[1:]...)
			case !p.done() && (t.kind == tokName && t.text != "else" && t.text != "or" && t.text != "and" ||
				t.kind == tokString || t.kind == tokNumber || t.kind == tokOp && (t.text == "[" || t.text == "{")):
				// `x is divisibleby 3`: one argument without parentheses.
				kids = append(kids, p.parsePostfix(p.parsePrimary(depth), depth))
			}
			e = p.node(eTest, e.start, name, kids...)
		case p.isOp("("):
			e = p.parseCall(e, depth)
		default:
			return e
		}
	}
	return e
}

// parseWhole parses toks as one expression (a tuple where commas say so),
// or reports false when they are not exactly that.
func parseWhole(src string, toks []token, withCond bool, endNames ...string) (*expr, *exprParser, bool) {
	p := newExprParser(src, toks)
	if len(p.toks) == 0 {
		return nil, p, false
	}
	e := p.parseTuple(withCond, 0, endNames...)
	// Only an expression understood to its end is rewritten.
	return e, p, !p.err && p.i == len(p.toks)
}

// rewriter writes an expression back with its checks.
type rewriter struct {
	src string
}

// write returns e's source with the rewrites applied to it and its parts.
func (rw *rewriter) write(e *expr) string {
	switch e.kind {
	case eBinary:
		switch e.op {
		case "+": // Python's + (the engine prints none into 'x' + none)
			return addFunc + "(" + rw.writeKid(e, 0) + ", " + rw.writeKid(e, 1) + ")"
		case "%": // Python's % (the engine formats with Go's fmt)
			return modFunc + "(" + rw.writeKid(e, 0) + ", " + rw.writeKid(e, 1) + ")"
		}
	case eConst:
		return rw.writeNumber(e)
	case eCompare:
		// Python's <, >, <=, >= (the engine answers false where Python
		// raises TypeError, as for 1 < 'a'); chains are left to the engine.
		if len(e.ops) == 1 && isOrdering(e.ops[0]) {
			return compareFunc + "(" + rw.writeKid(e, 0) + ", " + rw.writeKid(e, 1) + ", " + pyQuote(e.ops[0]) + ")"
		}
	case eCall:
		callee := e.kids[0]
		if callee.kind != eAttr || len(callee.kids) != 1 {
			break
		}
		recv := rw.writeKid(callee, 0)
		switch {
		case strMethods[callee.op]:
			args := strings.TrimSpace(rw.span(e, 1, callee.end))
			args = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(args, "("), ")"))
			if args != "" {
				args = ", " + args
			}
			return strMethodFunc + "(" + recv + ", " + pyQuote(callee.op) + args + ")"
		case mutatingMethods[callee.op]:
			return immutableFunc + "(" + recv + ", " + pyQuote(callee.op) + ")." + callee.op + rw.span(e, 1, callee.end)
		}
	case eFilter:
		if repl, ok := replacedFilters[e.op]; ok {
			head := rw.writeKid(e, 0)
			rest := rw.span(e, 1, e.kids[0].end)
			if i := strings.Index(rest, e.op); i >= 0 {
				return head + rest[:i] + repl + rest[i+len(e.op):]
			}
		}
	case eTest:
		// `x is divisibleby 3`: the engine wants the argument in parentheses.
		if len(e.kids) == 2 && !strings.HasSuffix(strings.TrimSpace(rw.src[e.kids[0].end:e.kids[1].start]), "(") {
			return rw.writeKid(e, 0) + strings.TrimRight(rw.src[e.kids[0].end:e.kids[1].start], " \t\n") + "(" + rw.writeKid(e, 1) + ")" + rw.src[e.kids[1].end:e.end]
		}
	}
	return rw.span(e, 0, e.start)
}

// span writes e's source from pos to its end, its kids from the first'th
// on rewritten.
func (rw *rewriter) span(e *expr, first, pos int) string {
	var b strings.Builder
	for i := first; i < len(e.kids); i++ {
		k := e.kids[i]
		if k.start < pos || k.end > e.end { // not from this source: nothing to rewrite safely
			return rw.src[pos:e.end]
		}
		b.WriteString(rw.src[pos:k.start])
		b.WriteString(rw.writeKid(e, i))
		pos = k.end
	}
	b.WriteString(rw.src[pos:e.end])
	return b.String()
}

// writeNumber writes a number literal the engine may not read (1_000,
// 0x10, 0o7, 0b1) in decimal; other constants as they are.
func (rw *rewriter) writeNumber(e *expr) string {
	text := rw.src[e.start:e.end]
	if text == "" || text[0] < '0' || text[0] > '9' || !strings.ContainsAny(text, "_xXoObB") {
		return text
	}
	if n, err := strconv.ParseInt(text, 0, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return strings.ReplaceAll(text, "_", "")
}

// writeKid writes e.kids[i], wrapped where jinja2 would raise on an
// Undefined there or escape it next to a Markup.
func (rw *rewriter) writeKid(e *expr, i int) string {
	k := e.kids[i]
	text := rw.write(k)
	check := false
	switch e.kind {
	case eAttr, eItem:
		check = i == 0
	case eUnary:
		check = e.op == "-" || e.op == "+"
	case eBinary:
		switch e.op {
		case "+", "-", "*", "/", "//", "%", "**":
			check = true
		}
	case eCompare:
		check = i > 0 && isOrdering(e.ops[i-1]) || i < len(e.ops) && isOrdering(e.ops[i])
	case eFilter:
		check = i == 0 && (e.op == "tojson" || e.op == "dictsort")
	}
	if check && e.kind == eFilter && e.op == "tojson" {
		// json.dumps(Undefined) is a TypeError, not an UndefinedError.
		text = notJSONFunc + "(" + text + ", " + pyQuote("Undefined") + ")"
	} else if check {
		text = rw.checkDefined(k, text)
	}
	if e.kind == eFilter && e.op == "tojson" && i == 0 && k.kind == eFilter {
		if typ, ok := iteratorFilters[k.op]; ok {
			text = notJSONFunc + "(" + text + ", " + pyQuote(typ) + ")"
		}
	}
	if e.kind == eBinary && e.op == "+" && isMarkup(e.kids[1-i]) && !isMarkup(k) {
		text = "(" + text + ")|e"
	}
	return text
}

func isOrdering(op string) bool { return op == "<" || op == ">" || op == "<=" || op == ">=" }

// isMarkup reports whether e is written as a markupsafe.Markup value.
func isMarkup(e *expr) bool {
	switch e.kind {
	case eFilter:
		return e.op == "safe" || e.op == "e" || e.op == "escape" || e.op == "forceescape"
	case eParen:
		return isMarkup(e.kids[0])
	case eBinary:
		return e.op == "+" && (isMarkup(e.kids[0]) || isMarkup(e.kids[1]))
	}
	return false
}

// checkDefined wraps text, the written form of k, in definedFunc where k
// can be Undefined (a name, attribute or item), passing what jinja2's
// message needs: the name, or the object and the attribute or key when the
// object can be evaluated again without effects.
func (rw *rewriter) checkDefined(k *expr, text string) string {
	switch k.kind {
	case eName:
		return definedFunc + "(" + text + ", " + pyQuote(k.op) + ")"
	case eAttr:
		if pure(k.kids[0]) {
			return definedFunc + "(" + text + ", " + pyQuote("") + ", " + rw.src[k.kids[0].start:k.kids[0].end] + ", " + pyQuote(k.op) + ")"
		}
	case eItem:
		if k.constKey && pure(k.kids[0]) {
			return definedFunc + "(" + text + ", " + pyQuote("") + ", " + rw.src[k.kids[0].start:k.kids[0].end] + ", " + rw.src[k.kids[1].start:k.kids[1].end] + ")"
		}
	default:
		return text
	}
	return definedFunc + "(" + text + ")"
}

// pure reports whether evaluating e again has no effect and costs little:
// no calls.
func pure(e *expr) bool {
	if e.kind == eCall {
		return false
	}
	for _, k := range e.kids {
		if !pure(k) {
			return false
		}
	}
	return true
}

// pyQuote writes s as a single-quoted jinja string literal.
func pyQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// rewriteExpression returns the inside of a {{ }} tag as the engine should
// see it.
func rewriteExpression(s string) string {
	e, _, ok := parseWhole(s, tokenize(s), true)
	if !ok || e == nil {
		return s
	}
	rw := &rewriter{src: s}
	return s[:e.start] + rw.write(e) + s[e.end:]
}

// rewriteRange rewrites toks[from:to] of s as one expression, returning
// the new text of s[lo:hi] where lo and hi are the span of those tokens
// without surrounding spaces; ok is false if they are not one expression.
func rewriteRange(s string, toks []token, withCond bool) (text string, lo, hi int, ok bool) {
	e, _, ok := parseWhole(s, toks, withCond)
	if !ok || e == nil {
		return "", 0, 0, false
	}
	rw := &rewriter{src: s}
	return rw.write(e), e.start, e.end, true
}

// rewriteStatement returns the inside of a {% %} tag as the engine should
// see it.
func rewriteStatement(s string) (string, error) {
	toks := tokenize(s)
	k := firstWord(toks)
	if k < 0 || toks[k].kind != tokName {
		return s, nil
	}
	switch toks[k].text {
	case "if", "elif":
		if text, lo, hi, ok := rewriteRange(s, toks[k+1:], true); ok {
			return s[:lo] + text + s[hi:], nil
		}
	case "set":
		// set target = value; a block set (no "=") is left alone.
		eq := -1
		for j := k + 1; j < len(toks); j++ {
			if toks[j].kind == tokOp && toks[j].text == "=" {
				eq = j
				break
			}
		}
		if eq < 0 {
			return s, nil
		}
		if text, lo, hi, ok := rewriteRange(s, toks[eq+1:], true); ok {
			return s[:lo] + text + s[hi:], nil
		}
	case "for":
		return rewriteFor(s, toks, k), nil
	}
	return s, nil
}

// rewriteFor rewrites `for target in iterable [if cond] [recursive]`.
func rewriteFor(s string, toks []token, k int) string {
	in := topLevelName(toks, k+1, "in")
	if in < 0 {
		return s // the engine reports the missing "in"
	}
	end := len(toks)
	if j := topLevelName(toks, in+1, "if", "recursive"); j >= 0 {
		end = j
	}
	var b strings.Builder
	iterText, lo, hi, ok := rewriteRange(s, toks[in+1:end], false)
	if !ok {
		return s
	}
	b.WriteString(s[:lo])
	b.WriteString(iterableFunc + "(" + iterText + ")")
	rest := hi
	if end < len(toks) && toks[end].text == "if" {
		stop := len(toks)
		if j := topLevelName(toks, end+1, "recursive"); j >= 0 {
			stop = j
		}
		if condText, clo, chi, ok := rewriteRange(s, toks[end+1:stop], true); ok {
			b.WriteString(s[hi:clo])
			b.WriteString(condText)
			rest = chi
		}
	}
	b.WriteString(s[rest:])
	return b.String()
}
