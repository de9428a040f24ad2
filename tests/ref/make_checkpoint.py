#!/usr/bin/python3
"""Write small RANDOM Hugging Face MobileLLM-layout checkpoints for the converter and forward tests.

Each checkpoint directory holds config.json (MobileLLM keys), model.safetensors written by hand
(8-byte LE header length, JSON header, raw little-endian data) in F32, F16 or BF16,
tokenizer.model (a tiny SentencePiece BPE with byte fallback, trained here with Debian's
sentencepiece), tokenizer_config.json with MobileLLM's blank special tokens, and, for one
variant, an fp16 pytorch_model.bin written with torch.save.

    /usr/bin/python3 tests/ref/make_checkpoint.py OUT_DIR

writes OUT_DIR/<preset>/ for every preset below plus OUT_DIR/tokens.json (token sequences of
held-out text, BOS first). Deterministic for a given seed.
"""
import io
import json
import os
import random
import struct
import sys

import numpy as np
import sentencepiece as spm
import torch

# name: (tied, n_head, n_kv, n_layer, layer_sharing, dtype, extra vocab slots beyond the pieces, seed)
PRESETS = {
    "ls_tied_gqa": dict(tied=True, n_head=4, n_kv=2, n_layer=4, sharing=True, dtype="F32", pad_vocab=0, seed=11),
    "tied_mha_f16": dict(tied=True, n_head=4, n_kv=4, n_layer=3, sharing=False, dtype="F16", pad_vocab=0, seed=12),
    "untied_gqa": dict(tied=False, n_head=4, n_kv=2, n_layer=4, sharing=False, dtype="F32", pad_vocab=8, seed=13),
    "ls_untied_mha_bf16": dict(tied=False, n_head=4, n_kv=4, n_layer=3, sharing=True, dtype="BF16", pad_vocab=0, seed=14),
}
N_EMBD, N_FF, HEAD_DIM = 64, 160, 16
VOCAB = 400


def make_text(rng, n_sentences):
    """Pseudo-English with digits, punctuation and a few non-ASCII words (byte fallback food)."""
    syll = ["ka", "to", "ri", "mon", "el", "sa", "qu", "in", "der", "po", "la", "vi", "an", "ste", "ru", "mi",
            "ng", "or", "the", "and", "is", "of"]
    words = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 3))) for _ in range(300)]
    rare = ["café", "naïve", "Zürich", "日本語", "ß", "œuvre", "😀"]
    out = []
    for _ in range(n_sentences):
        ws = [rng.choice(words) for _ in range(rng.randint(4, 14))]
        if rng.random() < 0.3:
            ws.insert(rng.randrange(len(ws)), str(rng.randint(0, 9999)))
        if rng.random() < 0.05:
            ws.insert(rng.randrange(len(ws)), rng.choice(rare))
        s = " ".join(ws)
        out.append(s[0].upper() + s[1:] + rng.choice([".", ".", "!", "?", ","]))
    return out


def train_tokenizer(sentences):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=buf, model_type="bpe", vocab_size=VOCAB,
        byte_fallback=True, character_coverage=0.999, num_threads=1, unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, user_defined_symbols=["<sep>"], control_symbols=["<ctl>"], add_dummy_prefix=True,
        minloglevel=2)
    return buf.getvalue()


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, float32 torch tensor). Written in `dtype` (F32, F16, BF16)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        t = t.contiguous()
        if dtype == "F32":
            b = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == "F16":
            b = t.to(torch.float16).numpy().astype("<f2").tobytes()
        elif dtype == "BF16":
            b = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)  # the format allows trailing spaces; keeps data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def block_tensors(pre, rnd, norm_w, q_rows, kv_rows, n_embd, n_ff, ffn):
    """One decoder layer's HF tensors, drawn in this order (Llama: ffn "mlp"; Llama 4: "feed_forward")."""
    return [
        (pre + "input_layernorm.weight", norm_w()),
        (pre + "self_attn.q_proj.weight", rnd(q_rows, n_embd, std=0.1)),
        (pre + "self_attn.k_proj.weight", rnd(kv_rows, n_embd, std=0.1)),
        (pre + "self_attn.v_proj.weight", rnd(kv_rows, n_embd, std=0.1)),
        (pre + "self_attn.o_proj.weight", rnd(n_embd, q_rows, std=0.08)),
        (pre + "post_attention_layernorm.weight", norm_w()),
        (pre + f"{ffn}.gate_proj.weight", rnd(n_ff, n_embd, std=0.1)),
        (pre + f"{ffn}.up_proj.weight", rnd(n_ff, n_embd, std=0.1)),
        (pre + f"{ffn}.down_proj.weight", rnd(n_embd, n_ff, std=0.08)),
    ]


def make_weights(p, n_vocab):
    g = torch.Generator().manual_seed(p["seed"])

    def rnd(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    def norm_w():
        return 1.0 + rnd(N_EMBD, std=0.1)

    q_rows, kv_rows = p["n_head"] * HEAD_DIM, p["n_kv"] * HEAD_DIM
    ts = [("model.embed_tokens.weight", rnd(n_vocab, N_EMBD, std=0.1))]
    for i in range(p["n_layer"]):
        pre = f"model.layers.{i}."
        ts += block_tensors(pre, rnd, norm_w, q_rows, kv_rows, N_EMBD, N_FF, "mlp")
    ts.append(("model.norm.weight", norm_w()))
    if not p["tied"]:
        ts.append(("lm_head.weight", rnd(n_vocab, N_EMBD, std=0.1)))
    return ts


def config_for(p, n_vocab, name):
    cfg = {
        "_name_or_path": f"random/{name}",
        "architectures": ["MobileLLMForCausalLM"],
        "model_type": "mobilellm",
        "hidden_size": N_EMBD,
        "intermediate_size": N_FF,
        "num_attention_heads": p["n_head"],
        "num_key_value_heads": p["n_kv"],
        "head_dim": HEAD_DIM,
        "num_hidden_layers": p["n_layer"],
        "vocab_size": n_vocab,
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "share_embedding": p["tied"],
        "tie_word_embeddings": False,
        "layer_sharing": p["sharing"],
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[p["dtype"]],
    }
    if name != "tied_mha_f16":  # one checkpoint leaves the ids out, like MobileLLM's blank tokenizer config
        cfg["bos_token_id"], cfg["eos_token_id"] = 1, 2
    return cfg


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_checkpoint.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1234)
    sentences = make_text(rng, 3000)
    model = train_tokenizer(sentences[:2500])
    sp = spm.SentencePieceProcessor(model_proto=model)
    n_pieces = sp.get_piece_size()

    for name, p in PRESETS.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        n_vocab = n_pieces + p["pad_vocab"]
        ts = make_weights(p, n_vocab)
        write_safetensors(os.path.join(d, "model.safetensors"), ts, p["dtype"])
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config_for(p, n_vocab, name), f, indent=2)
        with open(os.path.join(d, "tokenizer.model"), "wb") as f:
            f.write(model)
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "", "eos_token": "",
                       "unk_token": "", "model_max_length": 512, "tokenizer_class": "LlamaTokenizer"}, f, indent=2)
        if name == "ls_tied_gqa":
            # The same weights as fp16 pytorch_model.bin only: the layout every MobileLLM size ships.
            bd = os.path.join(out, "ls_tied_gqa_bin")
            os.makedirs(bd, exist_ok=True)
            torch.save({k: v.to(torch.float16) for k, v in ts}, os.path.join(bd, "pytorch_model.bin"))
            for fn in ("config.json", "tokenizer.model", "tokenizer_config.json"):
                with open(os.path.join(d, fn), "rb") as src, open(os.path.join(bd, fn), "wb") as dst:
                    dst.write(src.read())

    held_out = " ".join(sentences[2500:])
    ids = sp.encode(held_out)
    seqs = {"seq40": [1] + ids[:39], "seq200": [1] + ids[39:238], "seq300": [1] + ids[238:537]}
    with open(os.path.join(out, "tokens.json"), "w") as f:
        json.dump({"n_pieces": n_pieces, **seqs}, f)


if __name__ == "__main__":
    main()
