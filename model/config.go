package model

import (
	"fmt"

	"github.com/infer-go/infer/gguf"
)

// Limits on hyperparameters, far above any real model, so that a corrupt
// file cannot make Load reserve absurd amounts of memory for the KV cache
// or scratch buffers.
const (
	maxEmbd    = 1 << 16
	maxLayers  = 1 << 10
	maxHeads   = 1 << 10
	maxContext = 1 << 22
)

// readConfig reads the hyperparameters every architecture shares from the
// "ARCH.*" keys and applies the options.
func readConfig(f *gguf.File, arch, normEpsKey string, opts Options) (Config, error) {
	cfg := Config{Arch: arch}
	key := func(k string) string { return arch + "." + k }

	var err error
	readInt := func(dst *int, k string, lo, hi int) {
		if err != nil {
			return
		}
		var v uint32
		if v, err = f.Uint32(key(k)); err != nil {
			return
		}
		if int(v) < lo || int(v) > hi {
			err = fmt.Errorf("key %q: %d out of range [%d, %d]", key(k), v, lo, hi)
			return
		}
		*dst = int(v)
	}
	readInt(&cfg.TrainContext, "context_length", 1, maxContext)
	readInt(&cfg.Embd, "embedding_length", 1, maxEmbd)
	readInt(&cfg.Layers, "block_count", 1, maxLayers)
	readInt(&cfg.FF, "feed_forward_length", 1, 16*maxEmbd)
	readInt(&cfg.Heads, "attention.head_count", 1, maxHeads)
	if err != nil {
		return cfg, err
	}
	cfg.HeadsKV = cfg.Heads
	if f.Has(key("attention.head_count_kv")) {
		readInt(&cfg.HeadsKV, "attention.head_count_kv", 1, cfg.Heads)
	}
	if err != nil {
		return cfg, err
	}
	if cfg.Heads%cfg.HeadsKV != 0 {
		return cfg, fmt.Errorf("head_count %d is not a multiple of head_count_kv %d", cfg.Heads, cfg.HeadsKV)
	}
	// The head size is attention.key_length when the file says (gemma2's
	// heads x head size need not be the embedding width), else embd/heads.
	if f.Has(key("attention.key_length")) || f.Has(key("attention.value_length")) {
		var kLen, vLen int
		readInt(&kLen, "attention.key_length", 1, maxEmbd)
		readInt(&vLen, "attention.value_length", 1, maxEmbd)
		if err != nil {
			return cfg, err
		}
		if kLen != vLen {
			return cfg, fmt.Errorf("key_length %d differs from value_length %d: not supported", kLen, vLen)
		}
		if cfg.Heads*kLen > 4*maxEmbd {
			return cfg, fmt.Errorf("head_count %d x key_length %d is out of range", cfg.Heads, kLen)
		}
		cfg.HeadDim = kLen
	} else {
		if cfg.Embd%cfg.Heads != 0 {
			return cfg, fmt.Errorf("embedding_length %d is not a multiple of head_count %d", cfg.Embd, cfg.Heads)
		}
		cfg.HeadDim = cfg.Embd / cfg.Heads
	}

	if cfg.NormEps, err = f.Float32(key(normEpsKey)); err != nil {
		return cfg, err
	}

	cfg.RopeBase = 10000
	if f.Has(key("rope.freq_base")) {
		if cfg.RopeBase, err = f.Float32(key("rope.freq_base")); err != nil {
			return cfg, err
		}
	}
	cfg.RopeDims = cfg.HeadDim
	if f.Has(key("rope.dimension_count")) {
		readInt(&cfg.RopeDims, "rope.dimension_count", 2, cfg.HeadDim)
		if err != nil {
			return cfg, err
		}
		if cfg.RopeDims%2 != 0 {
			return cfg, fmt.Errorf("key %q: %d is odd", key("rope.dimension_count"), cfg.RopeDims)
		}
	}

	// The context length is checked where the cache is made (base.NewState).
	cfg.ContextLength = opts.ContextLength
	if cfg.ContextLength == 0 {
		cfg.ContextLength = min(cfg.TrainContext, DefaultMaxContext)
	}
	if opts.CacheType > CacheF32 {
		return cfg, fmt.Errorf("KV cache type %d is not supported (f16 or f32)", opts.CacheType)
	}
	cfg.CacheType = opts.CacheType
	return cfg, nil
}
