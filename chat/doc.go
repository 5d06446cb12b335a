// Package chat renders Hugging Face chat templates the way transformers'
// apply_chat_template does: jinja2's ImmutableSandboxedEnvironment with
// trim_blocks, lstrip_blocks and loop controls, transformers' tojson
// (ensure_ascii off, Python's separators, key order kept), raise_exception
// and strftime_now, and the variables messages, tools, documents,
// add_generation_prompt, bos_token and eos_token. It also provides
// llama.cpp's built-in chat formats for models without a template
// (Builtin, Detect, Guess).
//
// The engine is github.com/ardanlabs/jinja. Where it differs from jinja2,
// this package changes the template's source before the engine parses it,
// never the engine: the source is lexed the way jinja2's lexer does it and
// its whitespace control applied here (prepare.go); expressions are parsed
// and the parts the engine would evaluate otherwise are wrapped in calls to
// globals of this package (rewrite.go, pyfuncs.go): Undefined raising when
// used, iteration over none, Python's +, % and <, str methods, the sort
// filter, Markup + str, the sandbox's refusal to mutate lists and dicts.
//
// Known differences from transformers that remain:
//   - Tuples made by dict.items(), |items, |dictsort, str.partition and
//     tuple + tuple are lists here: printed directly they show [..] rather
//     than (..). Iterating, unpacking and indexing them is the same.
//   - jinja2's map, select, reject, selectattr, rejectattr, unique, batch,
//     slice and reverse return generators; here they are lists. Printing one
//     directly shows the list (jinja2: "<generator object ...>"), an empty
//     one is false in an if (a generator is always true), and tojson of one
//     fails as in transformers only when written directly after the filter.
//   - A Markup value kept in a variable ({% set x = y|safe %}) is a plain
//     string afterwards: adding a str to it does not escape the str.
//   - -, *, /, //, ** and chained comparisons (a < b < c) use the engine's
//     lenient arithmetic: wrong types give a value where Python raises.
//   - Integer literals beyond int64 do not parse; a + overflowing int64
//     gives a float (Python's int is unbounded). A backslash-newline inside
//     a string literal is kept (Python drops it).
//   - jinja2 filters the engine lacks and this package does not provide:
//     filesizeformat, groupby, pprint, random, striptags, urlencode, urlize,
//     wordwrap, xmlattr ("unknown filter"). The engine's own fromjson works
//     here and fails in transformers. {% with %} is not supported.
//   - Attributes starting with "_" are not refused as the sandbox refuses
//     them (they are undefined here).
//   - strftime_now knows the C locale's common directives; %z and %Z give ""
//     as for transformers' naive datetime.now().
//   - A template can still make a large output (string repetition in a
//     loop); loops are bounded to 10,000,000 iterations in all, macros to
//     200 levels, range() to 100,000 items as in jinja2's sandbox.
package chat
