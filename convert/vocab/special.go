package vocab

// gguf-py's SpecialVocab: the merges, special token ids, add_*_token flags
// and chat template(s) of a Hugging Face model directory, read from
// tokenizer.json, tokenizer_config.json (or chat_template.jinja/.json) and
// config.json in the order and with the precedence gguf-py gives them.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
)

// specialVocab is gguf-py's SpecialVocab: merges, special token ids,
// add_*_token flags and the chat template.
type specialVocab struct {
	merges   []string
	ids      []specialID
	add      []specialFlag
	template any // string, or []namedTemplate
}

type specialID struct {
	typ string
	id  int
}

type specialFlag struct {
	typ string
	on  bool
}

type namedTemplate struct {
	Name     string `json:"name"`
	Template string `json:"template"`
}

func (sv *specialVocab) setID(typ string, id, nVocab int, warn warner) {
	if id < 0 {
		return
	}
	for _, s := range sv.ids {
		if s.typ == typ {
			return
		}
	}
	if nVocab > 0 && id >= nVocab {
		warn.warnf("special token %s has id %d, past the %d tokens; skipped", typ, id, nVocab)
		return
	}
	sv.ids = append(sv.ids, specialID{typ, id})
}

func (sv *specialVocab) setAdd(typ string, on bool) {
	for i := range sv.add {
		if sv.add[i].typ == typ {
			sv.add[i].on = on
			return
		}
	}
	sv.add = append(sv.add, specialFlag{typ, on})
}

// specialIDKeys are the GGUF keys of the special tokens llama.cpp reads.
var specialIDKeys = map[string]string{
	"bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
	"unk": "tokenizer.ggml.unknown_token_id", "sep": "tokenizer.ggml.seperator_token_id",
	"pad": "tokenizer.ggml.padding_token_id", "mask": "tokenizer.ggml.mask_token_id",
	"eot": "tokenizer.ggml.eot_token_id",
}

func (sv *specialVocab) kvs() []gguf.KV {
	var kv []gguf.KV
	add := func(key string, v any) { kv = append(kv, gguf.KV{Key: key, Value: gguf.ValueOf(v)}) }
	if len(sv.merges) > 0 {
		add("tokenizer.ggml.merges", sv.merges)
	}
	for _, s := range sv.ids {
		if key, ok := specialIDKeys[s.typ]; ok {
			add(key, uint32(s.id))
		}
	}
	for _, a := range sv.add {
		switch a.typ {
		case "bos", "eos", "sep":
			add("tokenizer.ggml.add_"+a.typ+"_token", a.on)
		}
	}
	switch t := sv.template.(type) {
	case string:
		add("tokenizer.chat_template", t)
	case []namedTemplate:
		// gguf-py's add_chat_template: "default" is the template; the
		// others get their own keys and are listed.
		var names []string
		var def *string
		for _, c := range t {
			name := strings.Map(func(r rune) rune {
				if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					return r
				}
				return '_'
			}, c.Name)
			switch {
			case name == "":
			case name == "default":
				def = &c.Template
			default:
				names = append(names, name)
				add("tokenizer.chat_template."+name, c.Template)
			}
		}
		if len(names) > 0 {
			add("tokenizer.chat_templates", names)
		}
		if def != nil {
			add("tokenizer.chat_template", *def)
		}
	}
	return kv
}

// loadSpecialVocab follows SpecialVocab._load: tokenizer.json (merges,
// post-processor), tokenizer_config.json (special tokens, add_*_token, chat
// template), then config.json's *_token_id for types still unset.
func loadSpecialVocab(f *hfTokenizerFiles, config source.HFConfig, nVocab int, loadMerges bool, warn warner) (*specialVocab, error) {
	sv := &specialVocab{}
	types := []string{"bos", "eos", "unk", "sep", "pad", "cls", "mask"}
	var added []hfAddedToken
	content := map[string]string{} // typ -> token text from tokenizer_config.json
	tc := f.config
	if tc != nil {
		for _, typ := range types {
			if s, ok := tokenContent(tc, typ+"_token"); ok {
				content[typ] = s
			}
		}
	}
	if f.json != nil {
		if loadMerges {
			m, err := f.json.merges()
			if err != nil {
				return nil, err
			}
			sv.merges = m
		}
		added = f.json.AddedTokens
		if tc != nil {
			if content["bos"] == "" && content["cls"] != "" {
				content["bos"] = content["cls"]
			}
			if content["eos"] == "" && content["sep"] != "" {
				content["eos"] = content["sep"]
			}
		}
		if err := sv.readPostProcessor(f.json.PostProcessor, content, tc != nil, &types, warn); err != nil {
			return nil, err
		}
	}
	if loadMerges && len(sv.merges) == 0 && f.exists("merges.txt") {
		m, err := readMergesTxt(filepath.Join(f.dir, "merges.txt"), warn)
		if err != nil {
			return nil, err
		}
		sv.merges = m
	}
	if loadMerges && len(sv.merges) == 0 {
		warn.warnf("no merges found: a BPE vocabulary without merges cannot tokenize")
	}
	if tc != nil {
		if err := sv.readChatTemplate(f); err != nil {
			return nil, err
		}
		for _, typ := range types {
			if b, ok := tc.Bool("add_" + typ + "_token"); ok {
				sv.setAdd(typ, b)
			}
			c, ok := content[typ]
			if !ok {
				continue
			}
			for _, a := range added {
				if a.Content == c {
					sv.setID(typ, a.ID, nVocab, warn)
					break
				}
			}
		}
	}
	for _, typ := range types {
		if n, ok, err := config.Int(typ + "_token_id"); err == nil && ok {
			sv.setID(typ, n, nVocab, warn)
		}
	}
	return sv, nil
}

// readPostProcessor is SpecialVocab's crude reading of the post-processor:
// whether BOS and EOS are added, and, for a template that ends in a token
// other than EOS, that token as EOS (the old one becoming EOT).
func (sv *specialVocab) readPostProcessor(raw json.RawMessage, content map[string]string, haveConfig bool, types *[]string, warn warner) error {
	if source.IsJSONNull(raw) {
		return nil
	}
	type piece struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
	}
	type processor struct {
		Type       string      `json:"type"`
		Single     []piece     `json:"single"`
		Processors []processor `json:"processors"`
	}
	var pp processor
	if err := json.Unmarshal(raw, &pp); err != nil {
		return fmt.Errorf("tokenizer.json post_processor: %w", err)
	}
	list := pp.Processors
	if list == nil {
		list = []processor{pp}
	}
	for _, p := range list {
		switch p.Type {
		case "RobertaProcessing":
			sv.setAdd("bos", true)
			sv.setAdd("eos", true)
			sv.setAdd("sep", true)
		case "TemplateProcessing":
			if len(p.Single) <= 1 {
				continue
			}
			if first := p.Single[0].SpecialToken; first != nil && first.ID != "" {
				if !haveConfig {
					content["bos"] = first.ID
				}
				sv.setAdd("bos", first.ID == content["bos"] || first.ID == content["cls"])
			}
			if last := p.Single[len(p.Single)-1].SpecialToken; last != nil && last.ID != "" {
				if !haveConfig {
					content["eos"] = last.ID
				} else if last.ID != content["eos"] {
					if content["eos"] != "" {
						content["eot"] = content["eos"]
						*types = append(*types, "eot")
					}
					warn.warnf("the tokenizer appends %q, not its EOS %q: using it as EOS", last.ID, content["eos"])
					content["eos"] = last.ID
				}
				sv.setAdd("eos", last.ID == content["eos"])
			}
		}
	}
	return nil
}

// readChatTemplate takes tokenizer_config.json's chat_template, else
// chat_template.jinja, else chat_template.json's.
func (sv *specialVocab) readChatTemplate(f *hfTokenizerFiles) error {
	parse := func(raw json.RawMessage, where string) error {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			sv.template = s
			return nil
		}
		var list []namedTemplate
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("%s chat_template: want a string or a list of {name, template}: %w", where, err)
		}
		sv.template = list
		return nil
	}
	if f.config.Has("chat_template") {
		return parse(f.config["chat_template"], "tokenizer_config.json")
	}
	if f.exists("chat_template.jinja") {
		b, err := source.ReadHFJSON(filepath.Join(f.dir, "chat_template.jinja"))
		if err != nil {
			return err
		}
		sv.template = string(b)
		return nil
	}
	if f.exists("chat_template.json") {
		raw, err := source.ReadHFJSON(filepath.Join(f.dir, "chat_template.json"))
		if err != nil {
			return err
		}
		var c source.HFConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("chat_template.json: %w", err)
		}
		if c.Has("chat_template") {
			return parse(c["chat_template"], "chat_template.json")
		}
	}
	return nil
}

// readMergesTxt reads a slow tokenizer's merges.txt ("#version" line
// optional), as SpecialVocab does.
func readMergesTxt(path string, warn warner) ([]string, error) {
	raw, err := source.ReadHFJSON(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(raw), "\n")
	var merges []string
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || (i == 0 && strings.HasPrefix(line, "#")) {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 2 {
			warn.warnf("merges.txt line %d: malformed, ignored", i+1)
			continue
		}
		merges = append(merges, parts[0]+" "+parts[1])
	}
	return merges, nil
}
