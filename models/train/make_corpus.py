#!/usr/bin/python3
"""Dump the King James Bible (Debian package bible-kjv) into a train / held-out corpus.

`bible -f` switches pretty-printing off, so each verse comes out on one line as
"<Ref> <text>" (e.g. "Ge1:1 In the beginning ..."). The reference is dropped; verses of a
chapter stay together, one per line, and chapters are separated by one empty line. A chapter
is the training document. Every HOLDOUT_EVERY-th chapter (counted over the whole book, starting
at HOLDOUT_OFFSET) goes to the held-out file, so the split is deterministic and spans every
part of the text.

Usage: make_corpus.py OUT_DIR   -> OUT_DIR/train.txt, OUT_DIR/heldout.txt, OUT_DIR/stats.json
"""
import json
import os
import re
import subprocess
import sys

HOLDOUT_EVERY = 20
HOLDOUT_OFFSET = 10
EXPECTED_VERSES = 31102  # the whole KJV; fewer means the dump was cut short

REF = re.compile(r'^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$')


def dump_bible():
    # One verse range covering the whole text; -f = plain one-verse-per-line output.
    out = subprocess.run(['bible', '-f', 'gen1:1-rev22:21'], check=True,
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL).stdout
    return out.decode('ascii')


def chapters_of(text):
    chapters, key, cur = [], None, []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = REF.match(line)
        if not m:
            raise SystemExit('make_corpus: unexpected line from bible(1): %r' % line[:80])
        book, chap, _verse, body = m.groups()
        if (book, chap) != key:
            if cur:
                chapters.append(cur)
            key, cur = (book, chap), []
        cur.append(' '.join(body.split()))
    if cur:
        chapters.append(cur)
    return chapters


def main():
    if len(sys.argv) != 2:
        raise SystemExit('usage: make_corpus.py OUT_DIR')
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    chapters = chapters_of(dump_bible())
    n_verses = sum(len(c) for c in chapters)
    if n_verses != EXPECTED_VERSES:
        raise SystemExit('make_corpus: bible(1) gave %d verses, expected %d' % (n_verses, EXPECTED_VERSES))
    train, held = [], []
    for i, c in enumerate(chapters):
        (held if i % HOLDOUT_EVERY == HOLDOUT_OFFSET else train).append('\n'.join(c))
    for name, docs in (('train.txt', train), ('heldout.txt', held)):
        with open(os.path.join(out_dir, name), 'w', encoding='ascii') as f:
            f.write('\n\n'.join(docs) + '\n')
    stats = {'chapters': len(chapters), 'verses': n_verses, 'train_chapters': len(train),
             'heldout_chapters': len(held), 'train_chars': sum(map(len, train)),
             'heldout_chars': sum(map(len, held))}
    with open(os.path.join(out_dir, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    print('make_corpus:', json.dumps(stats))


if __name__ == '__main__':
    main()
