#!/usr/bin/python3
"""Write small RANDOM Hugging Face checkpoints shaped like MobileLLM-Pro (MobileLLMP1ForCausalLM).

config.json carries what facebook/MobileLLM-Pro's config.json carries (architectures
MobileLLMP1ForCausalLM, layer_types with full_attention on every 4th layer from the first and on
the last, sliding_window, attention_chunk_size, attn_scale, eos_token_id a list of three ids,
intermediate_size_mlp, tie_word_embeddings) at a small size: 6 layers of width 64, a window of 8
so that 40 tokens reach five windows. model.safetensors in F32 or BF16 (an int4 preset: two
shards, the second the fake quantizer's scales; OUT_DIR/expected/ holds torch's fake-quantized
weights of it); tokenizer.json a small
byte-level BPE with Llama 4's pre-tokenizer regex and Llama 4's special tokens (<|eot|>, <|eom|>).

    /usr/bin/python3 tests/ref/pro_make_checkpoint.py OUT_DIR

writes OUT_DIR/<preset>/ and OUT_DIR/tokens.json (random token sequences, BOS first).
"""
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_checkpoint import block_tensors, write_safetensors  # noqa: E402
from make_llama4_checkpoint import bytes_to_unicode  # noqa: E402

N_EMBD, N_FF, HEAD_DIM, N_LAYER, WINDOW = 64, 160, 16, 6, 8
# Llama 4's first special tokens in its order: 200000 begin, 200001 end, ..., 200007 eot, 200008 eom
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
           "<|header_start|>", "<|header_end|>", "<|eot|>", "<|eom|>"]
LLAMA4_SPLIT = ("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
# Pro's rule: global (full) attention on layers 0, 4, 8, ... and on the last; windowed elsewhere
LAYER_TYPES = ["full_attention" if i % 4 == 0 or i == N_LAYER - 1 else "sliding_attention" for i in range(N_LAYER)]

# name: heads, kv heads, dtype, seed, MLP tensor prefix, extra config keys
PRESETS = {
    # Pro's published keys only: one RoPE base, no q/k norm
    "pro_f32": dict(n_head=4, n_kv=2, dtype="F32", seed=31, ffn="feed_forward", extra={}),
    # a RoPE base of the windowed layers' own, q/k norm, BF16 weights, HF Llama's MLP names
    "pro_local_base_bf16": dict(n_head=4, n_kv=1, dtype="BF16", seed=32, ffn="mlp",
                                extra={"rope_local_base_freq": 100.0, "use_qk_norm": True}),
    # an int4 checkpoint as Pro's int4 ones are described: BF16 weights beside
    # <matrix>.weight_fake_quantizer.scale (groups of 32; o_proj one scale per row), two shards
    "pro_int4": dict(n_head=4, n_kv=2, dtype="BF16", seed=33, ffn="feed_forward", extra={}, int4=True),
}


def fake_quant_scales(ts):
    """Per matrix: scales (fp16 values) so that round(w / s) stays in -7..7, and torch's
    fake-quantized weight s * clamp(round(w * (1/s)), -8, 7) for the test's exact comparison."""
    scales, deq = [], []
    for name, t in ts:
        if not name.startswith("model.layers.") or t.dim() != 2:
            continue
        w = t.to(torch.bfloat16).to(torch.float32)
        group = w.shape[1] if "o_proj" in name else 32
        g = w.reshape(w.shape[0], -1, group)
        s = (g.abs().amax(-1) / 7.0).to(torch.float16).to(torch.float32)  # [rows, groups]
        q = torch.clamp(torch.round(g * (1.0 / s)[..., None]), -8, 7)
        scales.append((name + "_fake_quantizer.scale", s))
        deq.append((name, (q * s[..., None]).reshape(w.shape)))
    return scales, deq


def tokenizer_json():
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    merges = []
    for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r")]:
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    n_base = len(vocab)
    added = [{"id": n_base + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIAL)]
    pre_tok = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA4_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    return {"version": "1.0", "added_tokens": added, "normalizer": None, "pre_tokenizer": pre_tok,
            "post_processor": None, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": vocab, "merges": merges}}, n_base


def make_weights(p, n_vocab):
    g = torch.Generator().manual_seed(p["seed"])

    def rnd(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    def norm_w():
        return 1.0 + rnd(N_EMBD, std=0.1)

    q_rows, kv_rows = p["n_head"] * HEAD_DIM, p["n_kv"] * HEAD_DIM
    ts = [("model.embed_tokens.weight", rnd(n_vocab, N_EMBD, std=0.5))]
    for i in range(N_LAYER):
        ts += block_tensors(f"model.layers.{i}.", rnd, norm_w, q_rows, kv_rows, N_EMBD, N_FF, p["ffn"])
    ts.append(("model.norm.weight", norm_w()))
    return ts


def config_for(p, n_vocab, n_base, name):
    return {
        "_name_or_path": f"random/{name}",
        "architectures": ["MobileLLMP1ForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_mobilellm_p1.MobileLLMP1TextConfig",
                     "AutoModelForCausalLM": "modeling_mobilellm_p1.MobileLLMP1ForCausalLM"},
        "attention_bias": False,
        "attention_chunk_size": 8192,
        "attention_dropout": 0.0,
        "attn_scale": 0.1,
        "bos_token_id": n_base,
        "eos_token_id": [n_base + 1, n_base + 7, n_base + 8],
        "pad_token_id": None,
        "for_llm_compressor": False,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": N_EMBD,
        "initializer_range": 0.02,
        "intermediate_size": N_FF,
        "intermediate_size_mlp": N_FF,
        "layer_types": LAYER_TYPES,
        "sliding_window": WINDOW,
        "max_position_embeddings": 512,
        "num_attention_heads": p["n_head"],
        "num_key_value_heads": p["n_kv"],
        "num_hidden_layers": N_LAYER,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "rope_scaling": None,
        "tie_word_embeddings": True,
        "vocab_size": n_vocab,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16"}[p["dtype"]],
        **p["extra"],
    }


CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<|header_start|>{{ m['role'] }}<|header_end|>\n\n"
                 "{{ m['content'] }}<|eot|>{% endfor %}{% if add_generation_prompt %}<|header_start|>assistant<|header_end|>\n\n{% endif %}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: pro_make_checkpoint.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tj, n_base = tokenizer_json()
    n_vocab = n_base + len(SPECIAL)
    for name, p in PRESETS.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        ts = make_weights(p, n_vocab)
        if p.get("int4"):
            scales, deq = fake_quant_scales(ts)
            shards = {"model-00001-of-00002.safetensors": ts, "model-00002-of-00002.safetensors": scales}
            write_safetensors(os.path.join(d, "model-00001-of-00002.safetensors"), ts, p["dtype"])
            write_safetensors(os.path.join(d, "model-00002-of-00002.safetensors"), scales, "F32")
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"weight_map": {n: shard for shard, tl in shards.items() for n, _ in tl}}, f)
            os.makedirs(os.path.join(out, "expected"), exist_ok=True)
            write_safetensors(os.path.join(out, "expected", f"{name}-dequantized.safetensors"), deq, "F32")
        else:
            write_safetensors(os.path.join(d, "model.safetensors"), ts, p["dtype"])
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config_for(p, n_vocab, n_base, name), f, indent=2)
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tj, f, ensure_ascii=False)
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"add_bos_token": True, "bos_token": SPECIAL[0], "eos_token": SPECIAL[1],
                       "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=2)
        with open(os.path.join(d, "chat_template.jinja"), "w") as f:
            f.write(CHAT_TEMPLATE)
    rng = random.Random(2511)
    bos = n_base
    seqs = {"seq40": [bos] + [rng.randrange(n_base) for _ in range(39)],
            "seq100": [bos] + [rng.randrange(n_base) for _ in range(99)]}
    with open(os.path.join(out, "tokens.json"), "w") as f:
        json.dump({"n_vocab": n_vocab, "window": WINDOW, **seqs}, f)


if __name__ == "__main__":
    main()
