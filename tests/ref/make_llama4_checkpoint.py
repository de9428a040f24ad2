#!/usr/bin/python3
"""Write small RANDOM Hugging Face checkpoints shaped like MobileLLM-R1 (Llama4ForCausalLM, dense).

Each directory holds config.json with the Llama-4 text keys R1's config carries (model_type
llama4_text, intermediate_size_mlp as the SwiGLU width, use_qk_norm, no_rope_layers with 1 meaning
"this layer uses RoPE", layer_types, attn_temperature_tuning / attn_scale / floor_scale,
num_local_experts 1, interleave_moe_layer_step 0, tie_word_embeddings), model.safetensors in F32
or BF16 with R1's tensor names (model.layers.N.feed_forward.{gate,up,down}_proj), and a small
byte-level BPE tokenizer.json (256 byte symbols, a few merges, Llama-3's special tokens).

    /usr/bin/python3 tests/ref/make_llama4_checkpoint.py OUT_DIR

writes OUT_DIR/<preset>/ and OUT_DIR/tokens.json (random token sequences, BOS first).
"""
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_checkpoint import block_tensors, write_safetensors  # noqa: E402

N_EMBD, N_FF, HEAD_DIM, N_LAYER = 64, 160, 16, 4
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]

# name: (n_head, n_kv, dtype, no_rope_layers, temperature (attn_scale, floor_scale) or None, seed,
#        pre-tokenizer: "bytelevel" (GPT-2's) or "llama3" (R1's Split regex + ByteLevel))
PRESETS = {
    "r1_gqa_f32": dict(n_head=4, n_kv=2, dtype="F32", no_rope=[1, 1, 1, 1], temp=None, seed=21, pre="bytelevel"),
    "r1_mha_bf16": dict(n_head=4, n_kv=4, dtype="BF16", no_rope=[1, 1, 1, 1], temp=None, seed=22, pre="bytelevel"),
    # a no-RoPE layer with Llama 4's temperature tuning, floor_scale small enough to change within 40 tokens
    "r1_nope_temp": dict(n_head=4, n_kv=2, dtype="F32", no_rope=[1, 1, 0, 1], temp=(0.1, 4), seed=23, pre="bytelevel"),
    "r1_llama3_pre": dict(n_head=4, n_kv=2, dtype="F32", no_rope=[1, 1, 1, 1], temp=None, seed=24, pre="llama3"),
}

LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_json(pre):
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    merges = []
    for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "s")]:
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    n_base = len(vocab)
    added = [{"id": n_base + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIAL)]
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": pre == "bytelevel"}
    if pre == "llama3":
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False}, bl]}
    else:
        pre_tok = bl
    return {"version": "1.0", "added_tokens": added, "normalizer": None, "pre_tokenizer": pre_tok,
            "post_processor": None, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": vocab, "merges": merges}}, n_base + len(SPECIAL)


def make_weights(p, n_vocab):
    g = torch.Generator().manual_seed(p["seed"])

    def rnd(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    def norm_w():
        return 1.0 + rnd(N_EMBD, std=0.1)

    q_rows, kv_rows = p["n_head"] * HEAD_DIM, p["n_kv"] * HEAD_DIM
    ts = [("model.embed_tokens.weight", rnd(n_vocab, N_EMBD, std=0.5))]
    for i in range(N_LAYER):
        pre = f"model.layers.{i}."
        ts += block_tensors(pre, rnd, norm_w, q_rows, kv_rows, N_EMBD, N_FF, "feed_forward")
    ts.append(("model.norm.weight", norm_w()))
    return ts


def config_for(p, n_vocab, name):
    temp = p["temp"]
    return {
        "_name_or_path": f"random/{name}",
        "architectures": ["Llama4ForCausalLM"],
        "model_type": "llama4_text",
        "hidden_size": N_EMBD,
        "intermediate_size": 2 * N_FF,  # the (unused) expert width; the dense MLP is intermediate_size_mlp
        "intermediate_size_mlp": N_FF,
        "num_attention_heads": p["n_head"],
        "num_key_value_heads": p["n_kv"],
        "head_dim": HEAD_DIM,
        "num_hidden_layers": N_LAYER,
        "vocab_size": n_vocab,
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "use_qk_norm": True,
        "no_rope_layers": p["no_rope"],
        "layer_types": ["full_attention"] * N_LAYER,
        "attention_chunk_size": 512,
        "attn_temperature_tuning": temp is not None,
        "attn_scale": temp[0] if temp else 0.1,
        "floor_scale": temp[1] if temp else 8192,
        "num_local_experts": 1,
        "num_experts_per_tok": 1,
        "interleave_moe_layer_step": 0,
        "moe_layers": [],
        "tie_word_embeddings": True,
        "bos_token_id": n_vocab - 3,
        "eos_token_id": [n_vocab - 2, n_vocab - 1],
        "pad_token_id": None,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16"}[p["dtype"]],
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_llama4_checkpoint.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, p in PRESETS.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        tj, n_vocab = tokenizer_json(p["pre"])
        write_safetensors(os.path.join(d, "model.safetensors"), make_weights(p, n_vocab), p["dtype"])
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config_for(p, n_vocab, name), f, indent=2)
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tj, f, ensure_ascii=False)
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"add_bos_token": True, "bos_token": SPECIAL[0], "eos_token": SPECIAL[2],
                       "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}",
                       "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=2)
    rng = random.Random(4321)
    _, n_vocab = tokenizer_json("bytelevel")
    bos = n_vocab - 3
    seqs = {"seq40": [bos] + [rng.randrange(n_vocab - 3) for _ in range(39)],
            "seq100": [bos] + [rng.randrange(n_vocab - 3) for _ in range(99)]}
    with open(os.path.join(out, "tokens.json"), "w") as f:
        json.dump({"n_vocab": n_vocab, **seqs}, f)


if __name__ == "__main__":
    main()
