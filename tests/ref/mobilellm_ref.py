#!/usr/bin/python3
"""Reference MobileLLM forward pass: a plain PyTorch transcription of the Hugging Face model.

Pre-norm decoder blocks, RMSNorm computed in fp32 (x * rsqrt(mean(x^2) + eps) * w), half-split
RoPE (rotate_half), grouped-query attention by repeating each kv head n_head/n_kv times, SwiGLU
MLP, head tied to the embedding when share_embedding / tie_word_embeddings (or no lm_head).
Layer sharing runs with no cache, as MobileLLM's code does: the stored blocks are visited in the
order of the sharing mode (immediate A A B B, repeat_all A B A B, reverse A B B A).

Loads an HF-layout checkpoint directory (model.safetensors in F32/F16/BF16, read by hand, or
pytorch_model.bin) and writes the logits of every position.

    mobilellm_ref.py DIR --tokens 1,5,9 [--mode immediate|repeat_all|reverse] [--repeat N]
                     [--dtype float32|float64] [--out logits.f32 | --json]
    mobilellm_ref.py --jobs jobs.json      # [{"dir", "tokens", "out", "mode"?, "repeat"?, "dtype"?,
                                           #   "window"?, "window_blocks"?}]
        # window: sliding-window attention (a query sees itself and window - 1 keys before it) on
        # the stored blocks window_blocks lists as 1 (all when absent)
    mobilellm_ref.py DIR --permuted-qk LAYER --out qk.f32
        # llama.cpp's convert_hf_to_gguf permute of that layer's q (n_head) then k (n_kv) rows, f32

--out writes raw little-endian float32, row-major [n_tokens, n_vocab] (default: JSON on stdout).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

NP_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2")}


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = NP_DTYPES.get(e["dtype"])
        if dt is None:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {e['dtype']}")
        a = np.frombuffer(raw, dtype=dt, count=(end - b) // dt.itemsize, offset=base + b)
        if e["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)  # bfloat16 is the top half of a float32
        out[name] = torch.from_numpy(a.astype(np.float32)).reshape(e["shape"])
    return out


def load_checkpoint(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    st = os.path.join(d, "model.safetensors")
    if os.path.exists(st):
        w = load_safetensors(st)
    else:
        w = {k: v.float() for k, v in torch.load(os.path.join(d, "pytorch_model.bin"), map_location="cpu").items()}
    return cfg, w


def share_repeat(cfg):
    v = cfg.get("layer_sharing", cfg.get("share_layer", False))
    return v if isinstance(v, int) and not isinstance(v, bool) else (2 if v else 1)


def layer_order(n_stored, repeat, mode):
    n = n_stored * repeat
    if mode == "immediate":
        return [l // repeat for l in range(n)]
    if mode == "repeat_all":
        return [l % n_stored for l in range(n)]
    if mode == "reverse":
        return [(l % n_stored) if (l // n_stored) % 2 == 0 else n_stored - 1 - (l % n_stored) for l in range(n)]
    raise SystemExit(f"unknown layer sharing mode {mode}")


def rms_norm(x, w, eps):
    x32 = x.to(torch.float32) if x.dtype != torch.float64 else x
    var = x32.pow(2).mean(-1, keepdim=True)
    return w * (x32 * torch.rsqrt(var + eps)).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


@torch.no_grad()
def forward(cfg, w, tokens, mode=None, repeat=None, dtype=torch.float32, window=0, window_blocks=None):
    n_embd = cfg["hidden_size"]
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    hd = cfg.get("head_dim") or n_embd // n_head
    eps = cfg.get("rms_norm_eps", 1e-5)
    theta = cfg.get("rope_theta", 10000.0)
    n_layer = cfg["num_hidden_layers"]
    repeat = repeat or share_repeat(cfg)
    mode = mode or cfg.get("layer_sharing_mode", "immediate")
    tied = cfg.get("share_embedding") or cfg.get("tie_word_embeddings") or "lm_head.weight" not in w
    W = {k: v.to(dtype) for k, v in w.items()}

    ids = torch.tensor(tokens, dtype=torch.long)
    T = len(tokens)
    x = W["model.embed_tokens.weight"][ids]
    # HF LlamaRotaryEmbedding: inv_freq = 1 / theta^(2i/d), cos/sin of pos * inv_freq, halves repeated
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    # sliding window: query q sees key k iff 0 <= q - k < window (itself and window - 1 before)
    win_mask = mask.masked_fill(torch.arange(T)[:, None] - torch.arange(T)[None, :] >= window, float("-inf")) if window else mask

    for b in layer_order(n_layer, repeat, mode):
        windowed = window and (window_blocks is None or window_blocks[b])
        p = f"model.layers.{b}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, n_head, hd).transpose(0, 1)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, n_kv, hd).transpose(0, 1)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, n_kv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = n_head // n_kv  # HF repeat_kv: query head i reads kv head i // rep
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + (win_mask if windowed else mask)
        att = torch.softmax(att.to(torch.float32) if dtype != torch.float64 else att, dim=-1).to(dtype)
        o = (att @ v).transpose(0, 1).reshape(T, n_head * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h @ W[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T

    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    return x @ head.T


def llamacpp_permute(weights, n_head):
    """The row permutation of llama.cpp convert_hf_to_gguf (LlamaModel.permute), in numpy."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def write_logits(logits, out):
    a = logits.to(torch.float32).numpy().astype("<f4")
    if out:
        a.tofile(out)
    else:
        json.dump(a.tolist(), sys.stdout)
        sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--tokens")
    ap.add_argument("--mode", choices=["immediate", "repeat_all", "reverse"])
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--out")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--jobs")
    ap.add_argument("--permuted-qk", type=int)
    a = ap.parse_args()

    cache = {}

    def ckpt(d):
        if d not in cache:
            cache[d] = load_checkpoint(d)
        return cache[d]

    if a.jobs:
        with open(a.jobs) as f:
            jobs = json.load(f)
        for j in jobs:
            cfg, w = ckpt(j["dir"])
            dt = torch.float64 if j.get("dtype", a.dtype) == "float64" else torch.float32
            write_logits(forward(cfg, w, j["tokens"], j.get("mode"), j.get("repeat"), dt, j.get("window", 0),
                                 j.get("window_blocks")), j["out"])
        return
    if not a.dir:
        ap.error("a checkpoint directory or --jobs is required")
    cfg, w = ckpt(a.dir)
    if a.permuted_qk is not None:
        p = f"model.layers.{a.permuted_qk}.self_attn."
        n_head = cfg["num_attention_heads"]
        n_kv = cfg.get("num_key_value_heads") or n_head
        q = llamacpp_permute(w[p + "q_proj.weight"].numpy(), n_head)
        k = llamacpp_permute(w[p + "k_proj.weight"].numpy(), n_kv)
        np.concatenate([q.ravel(), k.ravel()]).astype("<f4").tofile(a.out)
        return
    if not a.tokens:
        ap.error("--tokens is required")
    tokens = [int(t) for t in a.tokens.split(",")]
    dt = torch.float64 if a.dtype == "float64" else torch.float32
    write_logits(forward(cfg, w, tokens, a.mode, a.repeat, dt), None if a.json else a.out)


if __name__ == "__main__":
    main()
