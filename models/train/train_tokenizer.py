#!/usr/bin/python3
"""Train the default model's SentencePiece BPE tokenizer on the training split of the corpus.

Settings mirror the LLaMA-2 tokenizer that MobileLLM uses (so the engine's one SentencePiece code
path serves both): BPE, byte fallback (all 256 <0xNN> pieces, so any text round-trips; the
newline between verses becomes <0x0A>), dummy-prefix space, identity normalization, no collapsing
of whitespace, digits split, unk 0 / bos 1 / eos 2, no pad. Only the training split is read, so
held-out text stays unseen. Training is deterministic for a given input file.

Usage: train_tokenizer.py CORPUS_DIR OUT_PREFIX [VOCAB_SIZE]  -> OUT_PREFIX.model, OUT_PREFIX.vocab
"""
import os
import sys

import sentencepiece as spm

DEFAULT_VOCAB = 4096


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit('usage: train_tokenizer.py CORPUS_DIR OUT_PREFIX [VOCAB_SIZE]')
    corpus_dir, prefix = sys.argv[1], sys.argv[2]
    vocab = int(sys.argv[3]) if len(sys.argv) == 4 else DEFAULT_VOCAB
    os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=os.path.join(corpus_dir, 'train.txt'),  # one verse per line; blank lines are skipped
        model_prefix=prefix,
        model_type='bpe',
        vocab_size=vocab,
        character_coverage=1.0,
        byte_fallback=True,
        normalization_rule_name='identity',
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        allow_whitespace_only_pieces=True,
        split_digits=True,
        split_by_unicode_script=True,
        split_by_number=True,
        split_by_whitespace=True,
        max_sentence_length=8192,
        input_sentence_size=0,       # use every verse: no random sampling, so the result is fixed
        shuffle_input_sentence=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=2,
        minloglevel=1,
    )
    sp = spm.SentencePieceProcessor(model_file=prefix + '.model')
    sample = 'In the beginning God created the heaven and the earth.\nAnd the earth was without form.'
    assert sp.decode(sp.encode(sample)) == sample, 'tokenizer does not round-trip the sample text'
    print('train_tokenizer: vocab %d, sample -> %d pieces: %s'
          % (sp.get_piece_size(), len(sp.encode(sample)), sp.encode(sample, out_type=str)))


if __name__ == '__main__':
    main()
