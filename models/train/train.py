#!/usr/bin/python3
"""Train a MobileLLM-style model on the KJV corpus (CPU, PyTorch 1.13).

Recipe as in the MobileLLM paper, scaled down: AdamW (betas 0.9/0.95) with weight decay 0.1 on
the weight matrices (norm gains are not decayed), linear warm-up then cosine decay of the
learning rate to zero, gradient clipping at 1.0, fixed seeds. Matmuls run under bf16 autocast
when the CPU has native bf16 (fp32 master weights; residual stream, norms and softmax in fp32). Architecture presets are in
PRESETS; `default` is the bundled model (deep and thin, SwiGLU, GQA, tied embedding, immediate
block-wise layer sharing), the `abl-*` presets are the short ablation runs.

  train.py --preset default --corpus build/model/corpus --tokenizer build/model/tokenizer.model \
           --out models/default --ckpt build/model/default.pt --summary build/model/default.json

--probe N times N steps and exits (to size a run before launching it).
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Batcher, eval_windows, load_stream, load_tokenizer, mean_loss  # noqa: E402
from hf_export import export_hf  # noqa: E402
from model import MobileLLM, ModelConfig  # noqa: E402

# Architecture presets. Ablations share one parameter budget (see models/README.md).
PRESETS = {
    'default': dict(model=dict(dim=256, n_layers=10, repeat=2, n_heads=4, n_kv_heads=2, head_dim=64,
                               ffn_dim=704),
                    train=dict(steps=1000, batch=16, lr=2e-3, warmup=100)),
    # (a) layer sharing: same stored weights, blocks run twice (LS) or once
    'abl-deep-ls': dict(model=dict(dim=160, n_layers=10, repeat=2, n_heads=4, n_kv_heads=2, head_dim=40,
                                   ffn_dim=448),
                        train=dict(steps=300, batch=16, lr=2e-3, warmup=30)),
    'abl-deep': dict(model=dict(dim=160, n_layers=10, repeat=1, n_heads=4, n_kv_heads=2, head_dim=40,
                                ffn_dim=448),
                     train=dict(steps=300, batch=16, lr=2e-3, warmup=30)),
    # (b) shallower and wider at (about) the same parameter count as abl-deep
    'abl-wide': dict(model=dict(dim=256, n_layers=3, repeat=1, n_heads=4, n_kv_heads=2, head_dim=64,
                                ffn_dim=832),
                     train=dict(steps=300, batch=16, lr=2e-3, warmup=30)),
}


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return 0.5 * peak * (1.0 + math.cos(math.pi * p))


def make_optimizer(model, lr, wd):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': wd},
                              {'params': no_decay, 'weight_decay': 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def cpu_has_bf16():
    # Mixed precision pays off only with native bf16 dot products (oneDNN uses AMX / AVX512-BF16);
    # elsewhere bf16 matmuls are emulated and slower than fp32 BLAS.
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return ' amx_bf16' in flags or ' avx512_bf16' in flags


def log(msg):
    print(time.strftime('%H:%M:%S'), msg, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--preset', default='default', choices=sorted(PRESETS))
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--tokenizer', required=True)
    ap.add_argument('--out', help='Hugging Face output directory (config.json, model.safetensors, tokenizer.model)')
    ap.add_argument('--ckpt', help='fp32 PyTorch checkpoint path')
    ap.add_argument('--summary', help='JSON summary path')
    ap.add_argument('--steps', type=int, help='override the preset step count')
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--eval-every', type=int, default=200)
    ap.add_argument('--probe', type=int, default=0, help='time this many steps and exit')
    ap.add_argument('--precision', default='auto', choices=['auto', 'bf16', 'fp32'],
                    help='matmul precision while training (evaluation is always fp32); auto = bf16 '
                         'autocast where the CPU has native bf16 (AMX / AVX512-BF16), else fp32')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    bf16 = args.precision == 'bf16' or (args.precision == 'auto' and cpu_has_bf16())
    torch.manual_seed(args.seed)
    preset = PRESETS[args.preset]
    tr = dict(preset['train'])
    if args.steps:
        tr['steps'] = args.steps
    sp = load_tokenizer(args.tokenizer)
    cfg = ModelConfig(vocab_size=sp.get_piece_size(), **preset['model'])
    seq = cfg.max_seq_len

    train_stream = load_stream(args.corpus, 'train', sp)
    held_stream = load_stream(args.corpus, 'heldout', sp)
    held_all = eval_windows(held_stream, seq)
    held_quick = eval_windows(held_stream, seq, max_windows=48)
    batcher = Batcher(train_stream, seq, tr['batch'], args.seed)

    model = MobileLLM(cfg)
    opt = make_optimizer(model, tr['lr'], 0.1)
    n_params = model.num_params()
    log('preset %s: %s' % (args.preset, json.dumps(cfg.to_dict())))
    log('params %d (%.2fM), effective layers %d, train tokens %d, held-out tokens %d, train %s, '
        'matmuls in %s, torch %s' % (n_params, n_params / 1e6, cfg.n_layers * cfg.repeat, len(train_stream),
                                     held_all[1].numel(), json.dumps(tr), 'bf16' if bf16 else 'fp32',
                                     torch.__version__))

    steps = args.probe or tr['steps']
    t0 = time.time()
    ema = None
    history = []
    for step in range(steps):
        lr = lr_at(step, tr['steps'], tr['lr'], tr['warmup'])
        for g in opt.param_groups:
            g['lr'] = lr
        x, y = batcher.next()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        li = loss.item()
        ema = li if ema is None else 0.98 * ema + 0.02 * li
        if step % 20 == 0 or step == steps - 1:
            el = time.time() - t0
            log('step %d/%d loss %.4f ema %.4f lr %.2e gnorm %.2f  %.2f s/step  %.0f tok/s  elapsed %.0fs'
                % (step, tr['steps'], li, ema, lr, gnorm, el / (step + 1),
                   (step + 1) * x.numel() / el, el))
        if not args.probe and ((step + 1) % args.eval_every == 0 and step + 1 < steps):
            hl = mean_loss(model, held_quick)
            history.append({'step': step + 1, 'train_ema': ema, 'heldout_quick': hl})
            log('eval step %d: held-out (first %d windows) loss %.4f ppl %.2f'
                % (step + 1, held_quick[0].shape[0], hl, math.exp(hl)))
    train_time = time.time() - t0
    if args.probe:
        log('probe: %.3f s/step, %.0f tok/s' % (train_time / steps, steps * tr['batch'] * seq / train_time))
        return

    t1 = time.time()
    held = mean_loss(model, held_all)
    log('final: held-out loss %.4f ppl %.3f (%d tokens, eval %.0fs), train %.0fs'
        % (held, math.exp(held), held_all[1].numel(), time.time() - t1, train_time))
    if args.ckpt:
        os.makedirs(os.path.dirname(args.ckpt) or '.', exist_ok=True)
        torch.save({'config': cfg.to_dict(), 'state_dict': model.state_dict()}, args.ckpt)
    if args.out:
        export_hf(model, args.out, args.tokenizer)
        log('wrote %s' % args.out)
    if args.summary:
        summary = {'preset': args.preset, 'config': cfg.to_dict(), 'train': tr, 'seed': args.seed,
                   'params': n_params, 'effective_layers': cfg.n_layers * cfg.repeat,
                   'tokens_seen': tr['steps'] * tr['batch'] * seq, 'train_tokens': int(len(train_stream)),
                   'precision': 'bf16' if bf16 else 'fp32', 'train_seconds': round(train_time, 1), 'final_train_loss_ema': ema,
                   'heldout_tokens': int(held_all[1].numel()), 'heldout_loss': held,
                   'heldout_ppl': math.exp(held), 'history': history}
        os.makedirs(os.path.dirname(args.summary) or '.', exist_ok=True)
        with open(args.summary, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
