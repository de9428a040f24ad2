#!/usr/bin/python3
"""A multiple-choice task and a perplexity file from the bundled model's HELD-OUT chapters.

next_verse.jsonl: "choose the true next verse among four", in the generic layout of
`mobilellm eval` ({"context", "choices", "gold"}; each choice is scored as " " + choice after the
context, as lm-evaluation-harness scores its tasks). The context is two consecutive verses of a
held-out chapter (joined by a newline, as the corpus writes them); the choices are the verse that
follows them and three verses drawn from other held-out chapters; the true verse's position is
drawn too. Every 4th verse position of each held-out chapter gives one document. Seeded, so the
file is the same on every run.

heldout.jsonl: the held-out chapters, one {"text"} document each, for `--perplexity`.

Held-out chapters are make_corpus.py's (index = 10 mod 20), which training never saw.

Usage: make_kjv_task.py OUT_DIR   -> OUT_DIR/next_verse.jsonl, OUT_DIR/heldout.jsonl
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_corpus import HOLDOUT_EVERY, HOLDOUT_OFFSET, chapters_of, dump_bible  # noqa: E402

SEED = 23
EVERY = 4


def main():
    if len(sys.argv) != 2:
        raise SystemExit('usage: make_kjv_task.py OUT_DIR')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    held = [c for i, c in enumerate(chapters_of(dump_bible())) if i % HOLDOUT_EVERY == HOLDOUT_OFFSET]
    rng = random.Random(SEED)
    docs = []
    for ci, ch in enumerate(held):
        for v in range(2, len(ch), EVERY):
            others = [(cj, k) for cj in range(len(held)) if cj != ci for k in range(len(held[cj]))]
            distract = [held[cj][k] for cj, k in rng.sample(others, 3)]
            gold = rng.randrange(4)
            choices = distract[:gold] + [ch[v]] + distract[gold:]
            docs.append({'context': ch[v - 2] + '\n' + ch[v - 1], 'choices': choices, 'gold': gold})
    with open(os.path.join(out, 'next_verse.jsonl'), 'w', encoding='ascii') as f:
        f.writelines(json.dumps(d) + '\n' for d in docs)
    with open(os.path.join(out, 'heldout.jsonl'), 'w', encoding='ascii') as f:
        f.writelines(json.dumps({'text': '\n'.join(c)}) + '\n' for c in held)
    print('make_kjv_task: %d documents from %d held-out chapters' % (len(docs), len(held)))


if __name__ == '__main__':
    main()
