#!/usr/bin/python3
"""The small architecture ablations: runs train.py on the abl-* presets (same data, seed, steps,
batch and schedule; by default as two single-threaded lanes, 2 cores in all) and writes a
markdown table of their held-out losses.

  (a) layer sharing:     abl-deep-ls (10 stored blocks, each run twice) vs abl-deep (run once)
  (b) depth vs width:    abl-deep (10 x dim 160) vs abl-wide (3 x dim 256), ~same parameters

  ablate.py --corpus build/model/corpus --tokenizer build/model/tokenizer.model --dir build/model/ablation
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys

RUNS = ['abl-deep-ls', 'abl-deep', 'abl-wide']
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--tokenizer', required=True)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--steps', type=int, help='override every preset step count')
    ap.add_argument('--lanes', type=int, default=2, choices=[1, 2],
                    help='2: two single-threaded runs side by side (abl-deep-ls | abl-deep then abl-wide), '
                         'which a busy shared machine slows less than one 2-thread run; 1: one after another '
                         'on 2 threads')
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    lanes = [RUNS[:1], RUNS[1:]] if args.lanes == 2 else [RUNS]
    threads = 1 if args.lanes == 2 else 2
    # One shell loop per lane; finished runs (summary present) are skipped, so a sweep resumes.
    procs = []
    for lane in lanes:
        script = []
        for name in lane:
            summary = os.path.join(args.dir, name + '.json')
            if os.path.exists(summary):
                continue
            cmd = [sys.executable, os.path.join(HERE, 'train.py'), '--preset', name, '--corpus', args.corpus,
                   '--tokenizer', args.tokenizer, '--summary', summary, '--eval-every', '100',
                   '--threads', str(threads)]
            if args.steps:
                cmd += ['--steps', str(args.steps)]
            script.append(' '.join(shlex.quote(c) for c in cmd) + ' > ' + shlex.quote(
                os.path.join(args.dir, name + '.log')) + ' 2>&1')
        if script:
            procs.append(subprocess.Popen(['bash', '-c', 'set -e; ' + '; '.join(script)],
                                          env=dict(os.environ, OMP_NUM_THREADS=str(threads),
                                                   OPENBLAS_NUM_THREADS=str(threads))))
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit('ablate: a run failed, see its log in ' + args.dir)
    rows = []
    for name in RUNS:
        with open(os.path.join(args.dir, name + '.json')) as f:
            rows.append(json.load(f))

    lines = ['| run | stored blocks x repeat (effective) | dim | ffn | heads/kv (head_dim) | params | '
             'steps x batch x seq | train s | final train loss (EMA) | held-out loss | held-out ppl |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        c, t = r['config'], r['train']
        lines.append('| %s | %d x %d (%d) | %d | %d | %d/%d (%d) | %.2fM | %d x %d x %d | %.0f | %.3f | %.3f | %.2f |'
                     % (r['preset'], c['n_layers'], c['repeat'], r['effective_layers'], c['dim'], c['ffn_dim'],
                        c['n_heads'], c['n_kv_heads'], c['head_dim'], r['params'] / 1e6, t['steps'], t['batch'],
                        c['max_seq_len'], r['train_seconds'], r['final_train_loss_ema'], r['heldout_loss'],
                        math.exp(r['heldout_loss'])))
    table = '\n'.join(lines) + '\n'
    with open(os.path.join(args.dir, 'ablation.md'), 'w') as f:
        f.write(table)
    print(table)


if __name__ == '__main__':
    main()
