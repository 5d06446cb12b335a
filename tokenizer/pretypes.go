package tokenizer

// Pre-tokenizer regexes, written exactly as llama.cpp's llm_tokenizer_bpe
// lists them (after C string unescaping). llama.cpp runs each regex over
// the pieces the previous one produced; the first two below it recognises
// by their exact text and runs hand-written splitters for instead.
const (
	reGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	// reLlama3 is llama3's regex with the case-insensitive group spelled
	// out; reLlama3Orig is the tokenizer.json original. Both select the
	// hand-written llama3 splitter.
	reLlama3     = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	reLlama3Orig = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	reQwen2      = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	reCJK = "[一-龥ࠀ-一가-\uD7FF]+"

	// reDeepseekLetters is the set of cased letters (\p{LC}) of the
	// Unicode version DeepSeek's tokenizer was built with, as ranges.
	reDeepseekLetters = "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF" +
		"\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481" +
		"\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B" +
		"\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D" +
		"\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC" +
		"\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D" +
		"\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE" +
		"\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06" +
		"\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB" +
		"\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+"
	reDeepseekPunct = "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+"

	reDeepseekV3 = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
	reSeedCoder  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`
	reBailing    = `'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	reTekken     = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	reGPT4o      = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	rePoro       = " ?[^(\\s|.,!?…。，、।۔،)]+"
)

// preConfig is what a tokenizer.ggml.pre value selects in llama.cpp.
type preConfig struct {
	regexes      []string
	keepSpaces   bool // clean_spaces = false: the detokenizer leaves " ," alone
	ignoreMerges bool // a word that is a whole token is not merged
	addBOS       bool // BOS is added by default
	noBOS        bool // the default BOS id is cleared
}

var (
	preDefault   = []string{`[\p{P}\$\+<=>\^~\|]+`, reGPT2, `\p{N}+`, `[0-9][0-9][0-9]`}
	preFalcon    = []string{"[\\p{P}\\$\\+<=>\\^~\\|`]+", reGPT2, `[0-9][0-9][0-9]`}
	preStarcoder = []string{`\p{N}`, reGPT2}
	preGPT2      = []string{reGPT2}
	preLlama3    = []string{reLlama3}
	preQwen2     = []string{reQwen2}
	preDeepseek  = []string{"[\r\n]", reDeepseekLetters, reDeepseekPunct, `\s+$`, reCJK, `\p{N}+`}
)

// preTypes maps tokenizer.ggml.pre values to llama.cpp's settings for them.
// The vocabularies in llama.cpp's test set exercise default, gpt-2, mpt,
// falcon and deepseek-llm; the rest reuse the same machinery.
var preTypes = map[string]preConfig{
	"default": {regexes: preDefault},

	"llama3":    {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"llama-v3":  {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"llama-bpe": {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"falcon3":   {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"falcon-h1": {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"pixtral":   {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"midm-2.0":  {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"lfm2":      {regexes: preLlama3, ignoreMerges: true, addBOS: true},
	"dbrx":      {regexes: preLlama3},
	"smaug-bpe": {regexes: preLlama3},

	"deepseek-llm":   {regexes: preDeepseek, keepSpaces: true},
	"deepseek-coder": {regexes: []string{"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, reCJK, `\p{N}`}, keepSpaces: true},
	"deepseek-v3":    {regexes: []string{`\p{N}{1,3}`, "[一-龥\u3040-ゟ゠-ヿ]+", reDeepseekV3}, keepSpaces: true},

	"falcon": {regexes: preFalcon},

	"starcoder":  {regexes: preStarcoder},
	"refact":     {regexes: preStarcoder},
	"command-r":  {regexes: preStarcoder, keepSpaces: true},
	"smollm":     {regexes: preStarcoder, keepSpaces: true},
	"codeshell":  {regexes: preStarcoder},
	"exaone":     {regexes: preStarcoder},
	"minerva-7b": {regexes: preStarcoder},

	"gpt-2":           {regexes: preGPT2},
	"phi-2":           {regexes: preGPT2},
	"jina-es":         {regexes: preGPT2},
	"jina-de":         {regexes: preGPT2},
	"gigachat":        {regexes: preGPT2},
	"jina-v2-es":      {regexes: preGPT2},
	"jina-v2-de":      {regexes: preGPT2},
	"jina-v1-en":      {regexes: preGPT2},
	"jina-v2-code":    {regexes: preGPT2},
	"roberta-bpe":     {regexes: preGPT2},
	"exaone4":         {regexes: preGPT2},
	"mpt":             {regexes: preGPT2},
	"olmo":            {regexes: preGPT2},
	"jais":            {regexes: preGPT2},
	"trillion":        {regexes: preGPT2, keepSpaces: true},
	"granite-docling": {regexes: preGPT2, keepSpaces: true},

	"qwen2":            {regexes: preQwen2, keepSpaces: true},
	"deepseek-r1-qwen": {regexes: preQwen2, keepSpaces: true},
	"stablelm2":        {regexes: preQwen2},
	"megrez":           {regexes: preQwen2},
	"hunyuan":          {regexes: preQwen2, keepSpaces: true},
	"grok-2":           {regexes: preQwen2, keepSpaces: true},

	"poro-chat":    {regexes: []string{rePoro}, keepSpaces: true},
	"bloom":        {regexes: []string{rePoro}},
	"gpt3-finnish": {regexes: []string{rePoro}},

	"chatglm-bpe": {regexes: preLlama3, noBOS: true},
	"glm4":        {regexes: preLlama3, noBOS: true},

	"tekken":      {regexes: []string{reTekken}, keepSpaces: true, ignoreMerges: true, addBOS: true},
	"gpt-4o":      {regexes: []string{reGPT4o}, keepSpaces: true},
	"llama4":      {regexes: []string{reGPT4o}, keepSpaces: true},
	"seed-coder":  {regexes: []string{reSeedCoder}, keepSpaces: true},
	"bailingmoe":  {regexes: []string{reBailing}, keepSpaces: true},
	"bailingmoe2": {regexes: []string{reBailing}, keepSpaces: true},
}
