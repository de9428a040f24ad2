#!/usr/bin/python3
"""Reference forward pass of the Llama-4 text model as MobileLLM-R1 uses it: a plain PyTorch
transcription of Hugging Face's Llama4TextModel, dense layers only.

Per layer: x + o(attn(rmsnorm(x))) then x + down(silu(gate(h)) * up(h)), h = rmsnorm(x), RMSNorm
in fp32 with a weight. Attention: q, k, v projections; on layers whose no_rope_layers entry is 1
(the list's 1 means "uses RoPE"), RoPE as Llama 4 computes it: adjacent pairs (2i, 2i+1) are one
complex number multiplied by exp(i * pos * theta^(-2i/d)); then, with use_qk_norm, each head of q
and k is divided by its RMS (no weight, eps rms_norm_eps) on those same layers. On a layer without
RoPE and with attn_temperature_tuning, q is scaled by 1 + attn_scale * log(1 + floor((pos+1) /
floor_scale)). Grouped-query attention with scale head_dim^-0.5 and a causal mask; the head is tied
to the embedding (tie_word_embeddings, or no lm_head.weight). An absent no_rope_layers takes Hugging
Face's default: every no_rope_layer_interval-th (4th) layer without RoPE.

    llama4_ref.py --jobs jobs.json   # [{"dir", "tokens", "out", "dtype"?: "float32"|"float64"}]

Each job writes raw little-endian float32 logits, row-major [n_tokens, n_vocab].
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilellm_ref import load_checkpoint, write_logits  # noqa: E402


def rms(x, eps):
    x32 = x if x.dtype == torch.float64 else x.to(torch.float32)
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rope_pairs(x, pos, theta):
    """x [T, H, d]: pairs (2i, 2i+1) times exp(i * pos * theta^(-2i/d)), in complex arithmetic."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    ang = pos.to(torch.float64)[:, None] * inv_freq[None, :]  # [T, d/2]
    rot = torch.polar(torch.ones_like(ang), ang)[:, None, :]  # [T, 1, d/2]
    cdt = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous()).to(cdt)
    return torch.view_as_real(xc * rot.to(cdt)).reshape(x.shape).to(x.dtype)


@torch.no_grad()
def forward(cfg, w, tokens, dtype=torch.float32):
    n_embd = cfg["hidden_size"]
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    hd = cfg.get("head_dim") or n_embd // n_head
    eps = cfg.get("rms_norm_eps", 1e-5)
    theta = (cfg.get("rope_parameters") or {}).get("rope_theta") or cfg.get("rope_theta", 500000.0)
    n_layer = cfg["num_hidden_layers"]
    interval = cfg.get("no_rope_layer_interval", 4)
    use_rope = cfg.get("no_rope_layers") or [int((i + 1) % interval != 0) for i in range(n_layer)]
    qk_norm = cfg.get("use_qk_norm", True)
    temp_tuning = cfg.get("attn_temperature_tuning", True)
    attn_scale, floor_scale = cfg.get("attn_scale", 0.1), cfg.get("floor_scale", 8192)
    if cfg.get("rope_scaling") is not None or (cfg.get("rope_parameters") or {}).get("rope_type", "default") != "default":
        raise SystemExit("rope_scaling is not part of this reference")
    W = {k: v.to(dtype) for k, v in w.items()}
    tied = cfg.get("tie_word_embeddings", True) or "lm_head.weight" not in w

    T = len(tokens)
    pos = torch.arange(T)
    x = W["model.embed_tokens.weight"][torch.tensor(tokens, dtype=torch.long)]
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    for l in range(n_layer):
        p = f"model.layers.{l}."
        h = rms(x, eps) * W[p + "input_layernorm.weight"]
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, n_head, hd)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, n_kv, hd)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, n_kv, hd)
        if use_rope[l]:
            q, k = rope_pairs(q, pos, theta), rope_pairs(k, pos, theta)
            if qk_norm:
                q, k = rms(q, eps), rms(k, eps)
        elif temp_tuning:
            scale = torch.log(torch.floor((pos.to(torch.float32) + 1.0) / floor_scale) + 1.0) * attn_scale + 1.0
            q = q * scale.to(dtype)[:, None, None]
        rep = n_head // n_kv  # query head i reads kv head i // rep
        q, k, v = q.transpose(0, 1), k.repeat_interleave(rep, dim=1).transpose(0, 1), v.repeat_interleave(rep, dim=1).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + mask
        att = torch.softmax(att, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, n_head * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, eps) * W[p + "post_attention_layernorm.weight"]
        g = torch.nn.functional.silu(h @ W[p + "feed_forward.gate_proj.weight"].T)
        x = x + (g * (h @ W[p + "feed_forward.up_proj.weight"].T)) @ W[p + "feed_forward.down_proj.weight"].T
    x = rms(x, eps) * W["model.norm.weight"]
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    return x @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    a = ap.parse_args()
    with open(a.jobs) as f:
        jobs = json.load(f)
    cache = {}
    for j in jobs:
        if j["dir"] not in cache:
            cache[j["dir"]] = load_checkpoint(j["dir"])
        cfg, w = cache[j["dir"]]
        dt = torch.float64 if j.get("dtype", "float64") == "float64" else torch.float32
        write_logits(forward(cfg, w, j["tokens"], dt), j["out"])


if __name__ == "__main__":
    main()
