"""Token streams for training and evaluation.

A chapter (one document of the corpus, verses separated by '\\n') becomes <s> ids </s>; the
chapters of a split are concatenated into one stream. Training batches are random windows of the
training stream drawn from a seeded generator; evaluation walks the held-out stream in fixed,
non-overlapping windows so every run scores exactly the same tokens.
"""
import os

import numpy as np
import sentencepiece as spm
import torch

BOS, EOS = 1, 2


def load_stream(corpus_dir, split, sp):
    with open(os.path.join(corpus_dir, split + '.txt'), encoding='ascii') as f:
        docs = f.read().rstrip('\n').split('\n\n')
    ids = []
    for d in docs:
        ids.append(BOS)
        ids.extend(sp.encode(d))
        ids.append(EOS)
    return np.asarray(ids, dtype=np.int64)


def load_tokenizer(path):
    return spm.SentencePieceProcessor(model_file=path)


class Batcher:
    def __init__(self, stream, seq_len, batch_size, seed):
        self.stream = stream
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def next(self):
        starts = self.rng.integers(0, len(self.stream) - self.seq_len - 1, size=self.batch_size)
        w = np.stack([self.stream[s:s + self.seq_len + 1] for s in starts])
        w = torch.from_numpy(w)
        return w[:, :-1], w[:, 1:]


def eval_windows(stream, seq_len, max_windows=None):
    """Non-overlapping (input, target) windows of seq_len predictions covering the stream."""
    n = (len(stream) - 1) // seq_len
    if max_windows is not None:
        n = min(n, max_windows)
    w = np.stack([stream[i * seq_len:i * seq_len + seq_len + 1] for i in range(n)])
    w = torch.from_numpy(w)
    return w[:, :-1], w[:, 1:]


@torch.no_grad()
def mean_loss(model, windows, batch_size=16):
    """Mean next-token cross-entropy (nats) over every target of the windows."""
    x, y = windows
    model.eval()
    total, count = 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i:i + batch_size])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), y[i:i + batch_size].reshape(-1), reduction='sum')
        total += loss.item()
        count += y[i:i + batch_size].numel()
    model.train()
    return total / count
