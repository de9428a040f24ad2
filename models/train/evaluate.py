#!/usr/bin/python3
"""Held-out perplexity of the trained model in F32, as shipped (F16 safetensors), and under the
W8A8 Q8_0 simulation; plus greedy and sampled continuations from the PyTorch model.

  evaluate.py --corpus build/model/corpus --hf models/default --ckpt build/model/default.pt \
              --out build/model/eval.json --windows build/model/heldout_windows.json

F32   : the fp32 training checkpoint, fp32 compute.
F16   : the weights of models/default/model.safetensors (what the converter reads), fp32 compute.
Q8_0  : those weights with every linear layer (head included) computing W8A8: weights AND
        inputs rounded per block of 32 to int8 with fp16 scales, as the engine's Q8_0 x Q8_0 dot
        products do; embedding rows Q8_0-rounded. Attention scores/mixing stay fp32.
The held-out windows (non-overlapping, 256 predictions each) are also written as JSON token
arrays so the engine can score exactly the same tokens (score_heldout.js).
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import eval_windows, load_stream, load_tokenizer, mean_loss  # noqa: E402
from hf_export import load_hf_into  # noqa: E402
from model import MobileLLM, ModelConfig  # noqa: E402

PROMPT = 'In the beginning'


def config_from_hf(hf_dir):
    with open(os.path.join(hf_dir, 'config.json')) as f:
        h = json.load(f)
    return ModelConfig(vocab_size=h['vocab_size'], dim=h['hidden_size'], n_layers=h['num_hidden_layers'],
                       repeat=2 if h.get('layer_sharing') else 1, n_heads=h['num_attention_heads'],
                       n_kv_heads=h['num_key_value_heads'],
                       head_dim=h.get('head_dim', h['hidden_size'] // h['num_attention_heads']),
                       ffn_dim=h['intermediate_size'], max_seq_len=h['max_position_embeddings'],
                       rope_theta=h['rope_theta'], norm_eps=h['rms_norm_eps'])


@torch.no_grad()
def generate(model, sp, prompt, n, temperature=0.0, top_k=40, seed=0):
    """Plain full-recompute decoding (no cache), BOS + prompt, stops at EOS or n tokens."""
    g = torch.Generator().manual_seed(seed)
    ids = [1] + sp.encode(prompt)
    for _ in range(n):
        ctx = ids[-model.c.max_seq_len:]
        logits = model(torch.tensor([ctx]))[0, -1].float()
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            v, ix = torch.topk(logits / temperature, top_k)
            nxt = int(ix[torch.multinomial(torch.softmax(v, -1), 1, generator=g)])
        if nxt == 2:
            break
        ids.append(nxt)
    # Decode prompt and continuation together: decoding the continuation alone would drop the
    # space SentencePiece writes as the first piece's leading '▁'.
    return sp.decode(ids[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--hf', required=True)
    ap.add_argument('--ckpt')
    ap.add_argument('--out', required=True)
    ap.add_argument('--windows')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('-n', type=int, default=80, help='tokens per sample')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    sp = load_tokenizer(os.path.join(args.hf, 'tokenizer.model'))
    cfg = config_from_hf(args.hf)
    held = load_stream(args.corpus, 'heldout', sp)
    win = eval_windows(held, cfg.max_seq_len)
    res = {'heldout_tokens': int(win[1].numel()), 'heldout_chars': None, 'prompt': PROMPT}
    with open(os.path.join(args.corpus, 'stats.json')) as f:
        res['heldout_chars'] = json.load(f)['heldout_chars']

    if args.ckpt:
        ck = torch.load(args.ckpt)
        m32 = MobileLLM(ModelConfig(**ck['config']))
        m32.load_state_dict(ck['state_dict'])
        res['loss_f32'] = mean_loss(m32, win)
        print('F32  held-out loss %.4f ppl %.3f' % (res['loss_f32'], math.exp(res['loss_f32'])), flush=True)

    model = load_hf_into(MobileLLM(cfg), args.hf)
    res['loss_f16'] = mean_loss(model, win)
    print('F16  held-out loss %.4f ppl %.3f' % (res['loss_f16'], math.exp(res['loss_f16'])), flush=True)
    model.set_quant(True)
    res['loss_q8_0_w8a8'] = mean_loss(model, win)
    print('Q8_0 held-out loss %.4f ppl %.3f' % (res['loss_q8_0_w8a8'], math.exp(res['loss_q8_0_w8a8'])), flush=True)
    for k in [k for k in list(res) if k.startswith('loss_')]:
        res['ppl' + k[4:]] = math.exp(res[k])
    model.set_quant(False)
    res['greedy'] = generate(model, sp, PROMPT, args.n)
    res['sampled'] = [{'seed': s, 'temperature': 0.8, 'top_k': 40,
                       'text': generate(model, sp, PROMPT, args.n, 0.8, 40, s)} for s in (1, 2)]
    print('greedy :', res['greedy'])
    for s in res['sampled']:
        print('sampled (seed %d):' % s['seed'], s['text'])
    os.makedirs(os.path.dirname(args.out) or '.', exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(res, f, indent=1)
    if args.windows:
        x, y = win
        seqs = torch.cat([x, y[:, -1:]], dim=1).tolist()
        with open(args.windows, 'w') as f:
            json.dump(seqs, f)


if __name__ == '__main__':
    main()
