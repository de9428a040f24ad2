#!/usr/bin/python3
"""Reference forward pass of MobileLLM-Pro (MobileLLMP1ForCausalLM) as this project reads its
config.json: a plain PyTorch transcription, float64 by default.

Llama 4's text layer (llama4_ref.py: pre-norm RMSNorm in fp32 with a weight, RoPE on adjacent
pairs as a complex product, grouped-query attention with scale head_dim^-0.5, SwiGLU, tied head)
with Pro's local-global attention: on a layer whose layer_types entry is sliding_attention a query
at position i sees keys i - sliding_window + 1 .. i (Hugging Face's sliding-window mask), on a
full_attention layer keys 0 .. i. RoPE on every layer unless no_rope_layers lists a 0; the
windowed layers rotate with rope_local_base_freq when the config has one, else rope_theta; q and k
are RMS-normed per head (no weight) after RoPE only with use_qk_norm true. The MLP tensors may be
named mlp.* or feed_forward.*. An int4 checkpoint (shards with <matrix>.weight_fake_quantizer.scale,
one scale per group of columns) runs its fake-quantized weights, s * clamp(round(w * (1/s)), -8, 7)
in float32 (torchao's symmetric int4).

    pro_ref.py --jobs jobs.json   # [{"dir", "tokens", "out", "dtype"?: "float32"|"float64", "repeat"?: n}]

"repeat" runs each block n times in a row (MobileLLM's immediate layer sharing; every pass its own
attention over the whole sequence, as separate KV slots give).

Each job writes raw little-endian float32 logits, row-major [n_tokens, n_vocab].
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilellm_ref import load_checkpoint, load_safetensors, write_logits  # noqa: E402
from llama4_ref import rms, rope_pairs  # noqa: E402


@torch.no_grad()
def forward(cfg, w, tokens, dtype=torch.float64, repeat=1):
    n_embd = cfg["hidden_size"]
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    hd = cfg.get("head_dim") or n_embd // n_head
    eps = cfg.get("rms_norm_eps", 1e-5)
    theta = cfg["rope_theta"]
    theta_local = cfg.get("rope_local_base_freq") or theta
    n_layer = cfg["num_hidden_layers"]
    types = cfg["layer_types"]
    window = cfg.get("sliding_window") or 0
    use_rope = cfg.get("no_rope_layers") or [1] * n_layer
    qk_norm = cfg.get("use_qk_norm", False)
    temp_tuning = cfg.get("attn_temperature_tuning", True)
    attn_scale, floor_scale = cfg.get("attn_scale", 0.1), cfg.get("floor_scale", 8192)
    if cfg.get("rope_scaling") is not None:
        raise SystemExit("rope_scaling is not part of this reference")
    W = {k: v.to(dtype) for k, v in w.items()}
    tied = cfg.get("tie_word_embeddings", True) or "lm_head.weight" not in w
    mlp = "feed_forward." if "model.layers.0.feed_forward.gate_proj.weight" in w else "mlp."

    T = len(tokens)
    pos = torch.arange(T)
    x = W["model.embed_tokens.weight"][torch.tensor(tokens, dtype=torch.long)]
    full = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    rel = pos[:, None] - pos[None, :]  # query i minus key j
    local = full.masked_fill(rel >= window, float("-inf")) if window > 0 else full
    for l in [b for b in range(n_layer) for _ in range(repeat)]:  # layer sharing: each block `repeat` times in a row
        p = f"model.layers.{l}."
        sliding = types[l] == "sliding_attention"
        h = rms(x, eps) * W[p + "input_layernorm.weight"]
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, n_head, hd)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, n_kv, hd)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, n_kv, hd)
        if use_rope[l]:
            th = theta_local if sliding else theta
            q, k = rope_pairs(q, pos, th), rope_pairs(k, pos, th)
            if qk_norm:
                q, k = rms(q, eps), rms(k, eps)
        elif temp_tuning:
            scale = torch.log(torch.floor((pos.to(torch.float32) + 1.0) / floor_scale) + 1.0) * attn_scale + 1.0
            q = q * scale.to(dtype)[:, None, None]
        rep = n_head // n_kv
        q, k, v = q.transpose(0, 1), k.repeat_interleave(rep, dim=1).transpose(0, 1), v.repeat_interleave(rep, dim=1).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + (local if sliding else full)
        att = torch.softmax(att, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, n_head * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, eps) * W[p + "post_attention_layernorm.weight"]
        g = torch.nn.functional.silu(h @ W[p + mlp + "gate_proj.weight"].T)
        x = x + (g * (h @ W[p + mlp + "up_proj.weight"].T)) @ W[p + mlp + "down_proj.weight"].T
    x = rms(x, eps) * W["model.norm.weight"]
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    return x @ head.T


def load_pro(d):
    """config.json and the weights, from model.safetensors or the shards of its index, fake
    quantizers applied and dropped."""
    index = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(index):
        return load_checkpoint(d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(index) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    w = {}
    for s in shards:
        w.update(load_safetensors(os.path.join(d, s)))
    for name in [n for n in w if n.endswith("_fake_quantizer.scale")]:
        s = w.pop(name).to(torch.float32)
        m = name[: -len("_fake_quantizer.scale")]
        t = w[m].to(torch.float32)
        g = t.reshape(t.shape[0], s.shape[1], -1)
        q = torch.clamp(torch.round(g * (1.0 / s)[..., None]), -8, 7)
        w[m] = (q * s[..., None]).reshape(t.shape)
    return cfg, w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    a = ap.parse_args()
    with open(a.jobs) as f:
        jobs = json.load(f)
    cache = {}
    for j in jobs:
        if j["dir"] not in cache:
            cache[j["dir"]] = load_pro(j["dir"])
        cfg, w = cache[j["dir"]]
        dt = torch.float64 if j.get("dtype", "float64") == "float64" else torch.float32
        write_logits(forward(cfg, w, j["tokens"], dt, j.get("repeat", 1)), j["out"])


if __name__ == "__main__":
    main()
